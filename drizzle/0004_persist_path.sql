-- The raw body is the record; the queryable payload is kept only when jsonb can hold it (an
-- escaped NUL or a lone surrogate is valid JSON that jsonb refuses), so it must be able to be empty.
ALTER TABLE "events" ALTER COLUMN "payload" DROP NOT NULL;
--> statement-breakpoint
-- Processing is recorded in the append-only audit trail (event.received, event.dead_lettered,
-- event.replay_requested…); this table was written for every event and read by nothing.
DROP TABLE "processing_jobs";
