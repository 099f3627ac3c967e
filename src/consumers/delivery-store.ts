import { and, eq, inArray, sql } from 'drizzle-orm';
import { rowsOf, type Database } from '../db/client.js';
import { auditEntries, deliveries, deliveryAttempts, destinations, events } from '../db/schema.js';

type DeliveryStatus = 'PENDING' | 'IN_FLIGHT' | 'RETRYING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

export interface ClaimedDelivery {
  id: string;
  eventId: string;
  destinationId: string;
  integrationId: string;
  previousStatus: DeliveryStatus;
  attemptNumber: number;
  trigger: 'DISPATCH' | 'RETRY' | 'REPLAY';
}

interface ClaimRow extends Record<string, unknown> {
  id: string;
  event_id: string;
  destination_id: string;
  integration_id: string;
  previous_status: DeliveryStatus;
  attempt_count: number;
  trigger: 'DISPATCH' | 'RETRY' | 'REPLAY';
}

/**
 * Claims up to `limit` due deliveries for `workerId` until the lease ends. SKIP LOCKED lets any
 * number of workers claim side by side without waiting on each other; an IN_FLIGHT delivery whose
 * lease has run out belongs to a worker that died, and is claimed again. For ordered destinations a
 * delivery waits while an earlier one for the same key is unfinished: one at a time, in order.
 */
export async function claimDueDeliveries(db: Database, workerId: string, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
  const result = await db.execute<ClaimRow>(sql`
    with due as (
      select d.id, d.status as previous_status
      from deliveries d
      where d.next_attempt_at <= now()
        and (d.status in ('PENDING', 'RETRYING') or (d.status = 'IN_FLIGHT' and d.lease_expires_at < now()))
        and (d.ordering_key is null or not exists (
          select 1 from deliveries prior
          where prior.destination_id = d.destination_id
            and prior.ordering_key = d.ordering_key
            and prior.status in ('PENDING', 'RETRYING', 'IN_FLIGHT')
            and prior.sequence < d.sequence))
      order by d.next_attempt_at
      limit ${limit}
      for update of d skip locked
    )
    update deliveries d
    set status = 'IN_FLIGHT',
        lease_owner = ${workerId},
        lease_expires_at = now() + ${leaseMs} * interval '1 millisecond',
        attempt_count = d.attempt_count + 1,
        updated_at = now()
    from due
    where d.id = due.id
    returning d.id, d.event_id, d.destination_id, d.integration_id, due.previous_status, d.attempt_count, d.trigger`);
  return rowsOf<ClaimRow>(result).map((row) => ({
    id: row.id,
    eventId: row.event_id,
    destinationId: row.destination_id,
    integrationId: row.integration_id,
    previousStatus: row.previous_status,
    attemptNumber: row.attempt_count,
    trigger: row.trigger,
  }));
}

export interface DeliveryWork {
  rawBody: Buffer;
  url: string;
  secret: string;
  destinationEnabled: boolean;
}

/** Everything a batch of claimed deliveries needs to be sent, in one query. */
export async function loadDeliveryWork(db: Database, claimed: ClaimedDelivery[]): Promise<Map<string, DeliveryWork>> {
  if (claimed.length === 0) return new Map();
  const rows = await db
    .select({
      id: deliveries.id,
      rawBody: events.rawBody,
      url: destinations.url,
      secret: destinations.secret,
      destinationEnabled: destinations.enabled,
    })
    .from(deliveries)
    .innerJoin(events, eq(events.id, deliveries.eventId))
    .innerJoin(destinations, eq(destinations.id, deliveries.destinationId))
    .where(inArray(deliveries.id, claimed.map((delivery) => delivery.id)));
  return new Map(rows.map(({ id, ...work }) => [id, work]));
}

export interface AttemptRecord {
  startedAt: Date;
  durationMs: number;
  statusCode: number | null;
  errorClass: string | null;
  errorMessage: string | null;
  responseBody: string | null;
  requestHeaders: Record<string, string>;
}

export interface AttemptResult {
  status: Exclude<DeliveryStatus, 'PENDING' | 'IN_FLIGHT'>;
  nextAttemptAt: Date | null;
  lastError: string | null;
}

/**
 * Records one attempt (append-only) and moves the delivery on, in one transaction. The update is
 * guarded by the lease: a worker that lost its claim records what it did but changes nothing.
 * Returns whether this worker still held the lease.
 */
export async function completeAttempt(
  db: Database,
  workerId: string,
  delivery: ClaimedDelivery,
  attempt: AttemptRecord | null,
  result: AttemptResult,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    if (attempt) {
      await tx
        .insert(deliveryAttempts)
        .values({ deliveryId: delivery.id, attemptNumber: delivery.attemptNumber, ...attempt })
        .onConflictDoNothing();
    }
    const final = result.status !== 'RETRYING';
    const updated = await tx
      .update(deliveries)
      .set({
        status: result.status,
        nextAttemptAt: result.nextAttemptAt ?? sql`${deliveries.nextAttemptAt}`,
        lastStatusCode: attempt?.statusCode ?? null,
        lastError: result.lastError,
        leaseOwner: null,
        leaseExpiresAt: null,
        updatedAt: new Date(),
        completedAt: final ? new Date() : null,
      })
      .where(and(eq(deliveries.id, delivery.id), eq(deliveries.leaseOwner, workerId), eq(deliveries.status, 'IN_FLIGHT')))
      .returning({ id: deliveries.id });
    return updated.length === 1;
  });
}

/** A receiver answered 410 Gone: stop sending to it, and say so in the audit trail. */
export async function disableDestination(db: Database, destinationId: string, reason: string, context: { deliveryId: string }): Promise<boolean> {
  return db.transaction(async (tx) => {
    const changed = await tx
      .update(destinations)
      .set({ enabled: false, disabledReason: reason, disabledAt: new Date(), updatedAt: new Date() })
      .where(and(eq(destinations.id, destinationId), eq(destinations.enabled, true)))
      .returning({ id: destinations.id });
    if (changed.length === 0) return false;
    await tx.insert(auditEntries).values({
      actor: 'system:delivery',
      action: 'destination.disabled',
      targetType: 'destination',
      targetId: destinationId,
      details: { reason, deliveryId: context.deliveryId },
    });
    return true;
  });
}
