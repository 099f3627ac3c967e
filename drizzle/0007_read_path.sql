-- Issue 13, the GraphQL read path.
-- ReplayRequest.deliveries loads by replay request: it had no index.
CREATE INDEX "deliveries_replay_request_idx" ON "deliveries" USING btree ("replay_request_id","sequence") WHERE "deliveries"."replay_request_id" is not null;--> statement-breakpoint
-- A provider has exactly one integration: the provider filter is served by the integration index.
DROP INDEX "events_provider_received_idx";
--> statement-breakpoint
-- Bulk replays cover exactly the events that matched when they were requested: the matching ids
-- are written here at request time and the runner works through them. No foreign key to events:
-- retention may remove an event first, and the runner then simply finds nothing to replay.
CREATE TABLE "replay_request_events" (
	"replay_request_id" uuid NOT NULL,
	"event_id" uuid NOT NULL,
	CONSTRAINT "replay_request_events_pkey" PRIMARY KEY("replay_request_id","event_id")
);
--> statement-breakpoint
ALTER TABLE "replay_request_events" ADD CONSTRAINT "replay_request_events_replay_request_id_fk" FOREIGN KEY ("replay_request_id") REFERENCES "public"."replay_requests"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- A running bulk replay can be cancelled (not used by any statement of this migration: a value
-- added to an enum cannot be used in the transaction that adds it).
ALTER TYPE "public"."processing_status" ADD VALUE IF NOT EXISTS 'CANCELLED';
