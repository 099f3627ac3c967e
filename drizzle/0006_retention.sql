-- Retention (issue 12): bodies are purged after RETENTION_DAYS, event rows with their deliveries
-- and attempts after METADATA_RETENTION_DAYS. A purged body leaves the row, marked.
ALTER TABLE "events" ADD COLUMN "body_purged_at" timestamp with time zone;
--> statement-breakpoint
-- The purge walks the oldest unpurged bodies; purged rows leave this index, so no batch rescans them.
CREATE INDEX "events_body_unpurged_idx" ON "events" USING btree ("received_at") WHERE "body_purged_at" IS NULL;
--> statement-breakpoint
-- Delivery attempts stay append-only, except for exactly the retention purge: a transaction that
-- declared itself as that purge (hookgate.purge_before, transaction-local) may delete attempts
-- created before its cutoff, and the cutoff itself must be at least one day old.
CREATE OR REPLACE FUNCTION hookgate_attempts_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  cutoff timestamptz := nullif(current_setting('hookgate.purge_before', true), '')::timestamptz;
BEGIN
  IF TG_OP = 'DELETE' AND cutoff IS NOT NULL AND cutoff <= now() - interval '1 day' AND OLD.created_at < cutoff THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
DROP TRIGGER IF EXISTS delivery_attempts_append_only ON delivery_attempts;
--> statement-breakpoint
CREATE TRIGGER delivery_attempts_append_only
  BEFORE UPDATE OR DELETE ON delivery_attempts
  FOR EACH ROW EXECUTE FUNCTION hookgate_attempts_guard();
--> statement-breakpoint
-- TRUNCATE skips row triggers: refuse it on the history tables outright.
CREATE OR REPLACE FUNCTION hookgate_refuse_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER audit_entries_no_truncate
  BEFORE TRUNCATE ON audit_entries
  FOR EACH STATEMENT EXECUTE FUNCTION hookgate_refuse_truncate();
--> statement-breakpoint
CREATE TRIGGER delivery_attempts_no_truncate
  BEFORE TRUNCATE ON delivery_attempts
  FOR EACH STATEMENT EXECUTE FUNCTION hookgate_refuse_truncate();
