DROP INDEX "deliveries_ordering_idx";--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "sequence" bigint NOT NULL GENERATED ALWAYS AS IDENTITY (sequence name "deliveries_sequence_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1);--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "ordering_key" text;--> statement-breakpoint
CREATE INDEX "deliveries_ordering_idx" ON "deliveries" USING btree ("destination_id","ordering_key","sequence") WHERE "deliveries"."ordering_key" is not null and "deliveries"."status" in ('PENDING', 'RETRYING', 'IN_FLIGHT');