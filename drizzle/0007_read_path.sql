-- Issue 13, the GraphQL read path.
-- ReplayRequest.deliveries loads by replay request: it had no index.
CREATE INDEX "deliveries_replay_request_idx" ON "deliveries" USING btree ("replay_request_id","sequence") WHERE "deliveries"."replay_request_id" is not null;--> statement-breakpoint
-- A provider has exactly one integration: the provider filter is served by the integration index.
DROP INDEX "events_provider_received_idx";
