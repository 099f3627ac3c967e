-- Delivery claims keep the lease in the row's due time: a claimed (IN_FLIGHT) delivery is due
-- again when its lease ends, so the claim reads one range of deliveries_due_idx and nothing else.
-- Rows claimed before this migration still carry their old due time; move it to their lease's end
-- so they are not claimed again while their worker may still be sending them. No columns change.
UPDATE "deliveries" SET "next_attempt_at" = "lease_expires_at"
WHERE "status" = 'IN_FLIGHT' AND "lease_expires_at" IS NOT NULL AND "next_attempt_at" < "lease_expires_at";
