-- Issue 14, destination policies.
-- Event-type filter: exact names and trailing wildcards ("order.*"); empty = every event.
ALTER TABLE "destinations" ADD COLUMN "event_types" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
-- Secret rotation: the replaced secret keeps signing (second signature) until it expires. Sealed like "secret".
ALTER TABLE "destinations" ADD COLUMN "previous_secret" text;--> statement-breakpoint
ALTER TABLE "destinations" ADD COLUMN "previous_secret_expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "destinations" ADD COLUMN "secret_rotated_at" timestamp with time zone;--> statement-breakpoint
-- Static headers: a sealed JSON array of {name, value}; write-only.
ALTER TABLE "destinations" ADD COLUMN "headers" text;--> statement-breakpoint
-- Throttling across every worker (null = no limit).
ALTER TABLE "destinations" ADD COLUMN "max_per_second" integer;--> statement-breakpoint
ALTER TABLE "destinations" ADD COLUMN "max_concurrency" integer;--> statement-breakpoint
-- A receiver's Retry-After pauses the whole destination, for every worker.
ALTER TABLE "destinations" ADD COLUMN "paused_until" timestamp with time zone;--> statement-breakpoint
-- Park and drain: policy (per destination, with defaults) and state.
ALTER TABLE "destinations" ADD COLUMN "park_after_failures" integer DEFAULT 10 NOT NULL;--> statement-breakpoint
ALTER TABLE "destinations" ADD COLUMN "park_failure_ratio" real DEFAULT 0.9 NOT NULL;--> statement-breakpoint
ALTER TABLE "destinations" ADD COLUMN "park_window_seconds" integer DEFAULT 300 NOT NULL;--> statement-breakpoint
ALTER TABLE "destinations" ADD COLUMN "disable_after_parked_seconds" integer DEFAULT 432000 NOT NULL;--> statement-breakpoint
ALTER TABLE "destinations" ADD COLUMN "consecutive_failures" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "destinations" ADD COLUMN "window_started_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "destinations" ADD COLUMN "window_attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "destinations" ADD COLUMN "window_failures" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "destinations" ADD COLUMN "parked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "destinations" ADD COLUMN "parked_reason" text;--> statement-breakpoint
ALTER TABLE "destinations" ADD COLUMN "probe_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "destinations" ADD COLUMN "next_probe_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "destinations" ADD COLUMN "unparked_at" timestamp with time zone;--> statement-breakpoint
-- Parked destinations are few: the probe and auto-disable sweeps read only them.
CREATE INDEX "destinations_parked_idx" ON "destinations" USING btree ("next_probe_at") WHERE "destinations"."parked_at" is not null;
