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
--> statement-breakpoint
-- Event status kept on the event, so the status filter and bulk-replay counts are index scans.
-- Maintained by triggers on deliveries: whatever code writes deliveries, the status follows.
CREATE TYPE "public"."event_status" AS ENUM('RECEIVED', 'DELIVERING', 'DELIVERED', 'FAILED');--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "status" "event_status" DEFAULT 'RECEIVED' NOT NULL;--> statement-breakpoint
-- From the latest delivery to each destination (a successful replay supersedes an earlier failure):
-- none → RECEIVED; any in progress → DELIVERING; any failed or cancelled → FAILED; else DELIVERED.
CREATE OR REPLACE FUNCTION hookgate_event_status(target uuid) RETURNS event_status
LANGUAGE sql STABLE AS $$
  select (case
    when count(*) = 0 then 'RECEIVED'
    when bool_or(latest.status in ('PENDING', 'RETRYING', 'IN_FLIGHT')) then 'DELIVERING'
    when bool_or(latest.status in ('FAILED', 'CANCELLED')) then 'FAILED'
    else 'DELIVERED' end)::event_status
  from (
    select distinct on (d.destination_id) d.status
    from deliveries d where d.event_id = target
    order by d.destination_id, d.sequence desc
  ) latest
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION hookgate_refresh_event_status() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  ids uuid[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(DISTINCT n.event_id ORDER BY n.event_id) INTO ids FROM new_rows n;
  ELSIF TG_OP = 'UPDATE' THEN
    SELECT array_agg(DISTINCT e.event_id ORDER BY e.event_id) INTO ids FROM (
      SELECT n.event_id FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE o.status IS DISTINCT FROM n.status
      UNION SELECT o.event_id FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE o.event_id IS DISTINCT FROM n.event_id
    ) e;
  ELSE
    SELECT array_agg(DISTINCT o.event_id ORDER BY o.event_id) INTO ids FROM old_rows o;
  END IF;
  IF ids IS NULL THEN
    RETURN NULL;
  END IF;
  -- Lock the events first (in id order), then compute in a second statement: under READ COMMITTED
  -- that statement's snapshot includes every delivery change committed by a transaction that held
  -- these rows before us, so two workers finishing one event's deliveries at once cannot leave a
  -- stale status behind.
  PERFORM 1 FROM events WHERE id = ANY (ids) ORDER BY id FOR NO KEY UPDATE;
  UPDATE events e SET status = s.status
  FROM (SELECT u.id, hookgate_event_status(u.id) AS status FROM unnest(ids) AS u(id)) s
  WHERE e.id = s.id AND e.status IS DISTINCT FROM s.status;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER deliveries_event_status_insert AFTER INSERT ON deliveries
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hookgate_refresh_event_status();--> statement-breakpoint
CREATE TRIGGER deliveries_event_status_update AFTER UPDATE ON deliveries
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hookgate_refresh_event_status();--> statement-breakpoint
CREATE TRIGGER deliveries_event_status_delete AFTER DELETE ON deliveries
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION hookgate_refresh_event_status();--> statement-breakpoint
UPDATE events SET status = hookgate_event_status(id) WHERE id IN (SELECT DISTINCT event_id FROM deliveries);--> statement-breakpoint
CREATE INDEX "events_status_received_idx" ON "events" USING btree ("status","received_at","id");
--> statement-breakpoint
-- Payload search: JSON containment (payload @> '{"customer":{"id":"cus_123"}}') served by GIN.
CREATE INDEX "events_payload_idx" ON "events" USING gin ("payload" jsonb_path_ops);--> statement-breakpoint
-- Event-key prefix search (LIKE 'order_1234%'), whatever the database's collation; it serves
-- equality too, so it replaces the plain event-key index.
DROP INDEX "events_key_idx";--> statement-breakpoint
CREATE INDEX "events_key_pattern_idx" ON "events" USING btree ("event_key" text_pattern_ops);
