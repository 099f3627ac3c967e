import { and, asc, desc, eq, gt, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { eventFilterConditions, type EventFilterValue } from '../db/event-filter.js';
import { auditEntries, deliveries, destinations, events, replayRequestEvents, replayRequests, type Delivery } from '../db/schema.js';
import { deliveryRowsFor } from './delivery-rows.js';
import { eventTypeMatches } from './event-type-filter.js';

/**
 * Replay never goes back through Kafka (the persist step would drop it as a duplicate): it
 * records who asked and why, and writes new deliveries for the stored event.
 */
export interface RequestContext {
  actor: string;
  requestId: string | null;
  sourceIp: string | null;
}

export type ReplayOutcome =
  | { ok: true; replayRequest: typeof replayRequests.$inferSelect; deliveries: Delivery[] }
  | { ok: false; code: 'EVENT_NOT_FOUND' | 'EVENT_GONE' | 'DESTINATION_NOT_FOUND' | 'NO_ENABLED_DESTINATION'; message: string };

export async function replayEvent(
  db: Database,
  eventId: string,
  options: { destinationId?: string | null; requestedBy: string; reason: string },
  context: RequestContext,
): Promise<ReplayOutcome> {
  return db.transaction(async (tx) => {
    const [event] = await tx
      .select({ id: events.id, integrationId: events.integrationId, eventKey: events.eventKey, orderingKey: events.orderingKey, eventType: events.eventType, bodyPurgedAt: events.bodyPurgedAt })
      .from(events)
      .where(eq(events.id, eventId));
    if (!event) return { ok: false, code: 'EVENT_NOT_FOUND', message: `event ${eventId} was not found` };
    // Retention emptied the body: there is nothing left to deliver again.
    if (event.bodyPurgedAt) return { ok: false, code: 'EVENT_GONE', message: `the body of event ${eventId} was purged by retention on ${event.bodyPurgedAt.toISOString()}` };
    const targets = await tx
      .select()
      .from(destinations)
      .where(
        and(
          eq(destinations.integrationId, event.integrationId),
          options.destinationId ? eq(destinations.id, options.destinationId) : eq(destinations.enabled, true),
        ),
      );
    if (options.destinationId && targets.length === 0) {
      return { ok: false, code: 'DESTINATION_NOT_FOUND', message: `destination ${options.destinationId} does not belong to this event's integration` };
    }
    const enabled = targets.filter((target) => target.enabled);
    if (enabled.length === 0) return { ok: false, code: 'NO_ENABLED_DESTINATION', message: 'no enabled destination to replay to' };
    // A replay that names its destination ignores that destination's event-type filter.
    const ignoreFilter = Boolean(options.destinationId);
    if (deliveryRowsFor([event], enabled, {}, { ignoreFilter }).length === 0) {
      return { ok: false, code: 'NO_ENABLED_DESTINATION', message: 'no enabled destination whose event-type filter takes this event' };
    }

    const [replayRequest] = await tx
      .insert(replayRequests)
      .values({
        eventId: event.id,
        destinationId: options.destinationId ?? null,
        requestedBy: options.requestedBy,
        reason: options.reason,
        status: 'COMPLETED',
        total: 1,
        processed: 1,
        completedAt: new Date(),
      })
      .returning();
    const created = await tx
      .insert(deliveries)
      .values(deliveryRowsFor([event], enabled, { trigger: 'REPLAY', replayRequestId: replayRequest!.id }, { ignoreFilter }))
      .returning();
    await tx.insert(auditEntries).values({
      ...context,
      action: 'event.replay_requested',
      targetType: 'event',
      targetId: event.id,
      details: {
        replayRequestId: replayRequest!.id,
        requestedBy: options.requestedBy,
        reason: options.reason,
        deliveryIds: created.map((delivery) => delivery.id),
      },
    });
    return { ok: true, replayRequest: replayRequest!, deliveries: created };
  });
}

export type RetryOutcome =
  | { ok: true; delivery: Delivery }
  | { ok: false; code: 'DELIVERY_NOT_FOUND' | 'NOT_FAILED' | 'COOLDOWN' | 'DESTINATION_DISABLED' | 'EVENT_GONE'; message: string };

/** One more attempt (exactly one) at a FAILED delivery, as a new delivery with trigger RETRY. */
export async function retryDelivery(
  db: Database,
  deliveryId: string,
  options: { requestedBy: string; reason: string; cooldownMs: number },
  context: RequestContext,
): Promise<RetryOutcome> {
  return db.transaction(async (tx) => {
    const [failed] = await tx.select().from(deliveries).where(eq(deliveries.id, deliveryId)).for('update');
    if (!failed) return { ok: false, code: 'DELIVERY_NOT_FOUND', message: `delivery ${deliveryId} was not found` };
    if (failed.status !== 'FAILED') return { ok: false, code: 'NOT_FAILED', message: `only a FAILED delivery can be retried; this one is ${failed.status}` };
    const [destination] = await tx.select().from(destinations).where(eq(destinations.id, failed.destinationId));
    if (!destination?.enabled) return { ok: false, code: 'DESTINATION_DISABLED', message: 're-enable the destination before retrying' };
    // Retention emptied the body: a retry would send nothing.
    const [event] = await tx.select({ bodyPurgedAt: events.bodyPurgedAt }).from(events).where(eq(events.id, failed.eventId));
    if (event?.bodyPurgedAt) return { ok: false, code: 'EVENT_GONE', message: `the body of event ${failed.eventId} was purged by retention` };
    const [recent] = await tx
      .select({ createdAt: deliveries.createdAt })
      .from(deliveries)
      .where(
        and(
          eq(deliveries.eventId, failed.eventId),
          eq(deliveries.destinationId, failed.destinationId),
          inArray(deliveries.trigger, ['RETRY']),
          gt(deliveries.createdAt, new Date(Date.now() - options.cooldownMs)),
        ),
      )
      .orderBy(desc(deliveries.createdAt))
      .limit(1);
    if (recent) {
      const waitSeconds = Math.ceil((recent.createdAt.getTime() + options.cooldownMs - Date.now()) / 1000);
      return { ok: false, code: 'COOLDOWN', message: `this delivery was retried moments ago; try again in ${waitSeconds} s` };
    }
    const [created] = await tx
      .insert(deliveries)
      .values({
        eventId: failed.eventId,
        destinationId: failed.destinationId,
        integrationId: failed.integrationId,
        trigger: 'RETRY',
        orderingKey: failed.orderingKey,
      })
      .returning();
    await tx.insert(auditEntries).values({
      ...context,
      action: 'delivery.retry_requested',
      targetType: 'delivery',
      targetId: failed.id,
      details: { newDeliveryId: created!.id, requestedBy: options.requestedBy, reason: options.reason },
    });
    return { ok: true, delivery: created! };
  });
}

export type BulkReplayOutcome =
  | { ok: true; replayRequest: typeof replayRequests.$inferSelect }
  | { ok: false; code: 'TOO_MANY_EVENTS' | 'NO_EVENTS'; message: string; matching: number };

export interface BulkReplayPreview {
  events: number;
  deliveries: number;
}

function tooMany(matching: number, maxEvents: number): BulkReplayOutcome {
  return {
    ok: false,
    code: 'TOO_MANY_EVENTS',
    message: `the filter matches ${matching} events; one replay may cover at most ${maxEvents} — narrow it (e.g. receivedAfter/receivedBefore)`,
    matching,
  };
}

/**
 * What a bulk replay would cover now: matching events, and the deliveries it would create (one per
 * enabled destination of each event's integration). Creates nothing.
 */
/** A bulk replay covers matching events whose body is still held: a purged one has nothing to send. */
const replayable = (filter: EventFilterValue) => [...eventFilterConditions(filter), isNull(events.bodyPurgedAt)];

export async function previewBulkReplay(db: Database, filter: EventFilterValue): Promise<BulkReplayPreview> {
  const [row] = await db
    .select({
      events: sql<number>`count(distinct ${events.id})::int`,
      deliveries: sql<number>`count(${destinations.id})::int`,
    })
    .from(events)
    .leftJoin(
      destinations,
      and(eq(destinations.integrationId, events.integrationId), eq(destinations.enabled, true), eventTypeMatches(destinations.eventTypes, events.eventType)),
    )
    .where(and(...replayable(filter)));
  return { events: row?.events ?? 0, deliveries: row?.deliveries ?? 0 };
}

/**
 * Records a bulk replay and the exact set of events it covers — those matching when it was
 * requested, written in the same transaction — so `total` is exact, `processed` can never pass
 * it, and events that arrive later are never replayed by it. The replay runner does the work in
 * the background, chunk by chunk. The cap is checked here so an operator learns at once that a
 * filter is too broad.
 */
export async function requestBulkReplay(
  db: Database,
  filter: EventFilterValue,
  options: { requestedBy: string; reason: string; maxEvents: number },
  context: RequestContext,
): Promise<BulkReplayOutcome> {
  const outcome = await db
    .transaction(async (tx) => {
      const [created] = await tx
        .insert(replayRequests)
        .values({
          filter: JSON.parse(JSON.stringify(filter)) as Record<string, unknown>,
          requestedBy: options.requestedBy,
          reason: options.reason,
          status: 'PENDING',
        })
        .returning();
      // One statement reads the matching set and fixes it: no later event can join.
      const covered = await tx
        .insert(replayRequestEvents)
        .select(
          tx
            .select({ replayRequestId: sql<string>`${created!.id}::uuid`.as('replay_request_id'), eventId: events.id })
            .from(events)
            .where(and(...replayable(filter)))
            .limit(options.maxEvents + 1),
        )
        .returning({ eventId: replayRequestEvents.eventId });
      const total = covered.length;
      // Throwing rolls the request back: nothing is left behind for a refused replay.
      if (total === 0) throw new RefusedReplay({ ok: false, code: 'NO_EVENTS', message: 'the filter matches no event', matching: 0 });
      if (total > options.maxEvents) throw new RefusedReplay(tooMany(total, options.maxEvents));
      const [replayRequest] = await tx.update(replayRequests).set({ total }).where(eq(replayRequests.id, created!.id)).returning();
      await tx.insert(auditEntries).values({
        ...context,
        action: 'events.replay_requested',
        targetType: 'replay_request',
        targetId: created!.id,
        details: { filter: created!.filter, matching: total, requestedBy: options.requestedBy, reason: options.reason },
      });
      return { ok: true as const, replayRequest: replayRequest! };
    })
    .catch((error: unknown) => {
      if (error instanceof RefusedReplay) return error.outcome;
      throw error;
    });
  if (!outcome.ok && outcome.code === 'TOO_MANY_EVENTS') {
    // Say how many really match (the insert stopped one past the cap).
    const [row] = await db.select({ matching: sql<number>`count(*)::int` }).from(events).where(and(...replayable(filter)));
    return tooMany(row?.matching ?? outcome.matching, options.maxEvents);
  }
  return outcome;
}

class RefusedReplay extends Error {
  constructor(readonly outcome: BulkReplayOutcome) {
    super(outcome.ok ? 'refused' : outcome.message);
  }
}

export type CancelReplayOutcome =
  | { ok: true; replayRequest: typeof replayRequests.$inferSelect; cancelledDeliveries: number }
  | { ok: false; code: 'REPLAY_NOT_FOUND' | 'NOT_CANCELLABLE'; message: string };

/**
 * Stops a bulk replay: no further chunk runs (the runner holds the request row while it works, so
 * this waits for a chunk in progress and never splits one), deliveries it created that no worker
 * has started are cancelled, and the whole is audited.
 */
export async function cancelReplay(
  db: Database,
  replayRequestId: string,
  options: { reason: string },
  context: RequestContext,
): Promise<CancelReplayOutcome> {
  return db.transaction(async (tx) => {
    const [request] = await tx.select().from(replayRequests).where(eq(replayRequests.id, replayRequestId)).for('update');
    if (!request) return { ok: false, code: 'REPLAY_NOT_FOUND', message: `replay request ${replayRequestId} was not found` };
    if (request.status !== 'PENDING' && request.status !== 'RUNNING') {
      return { ok: false, code: 'NOT_CANCELLABLE', message: `only a PENDING or RUNNING replay can be cancelled; this one is ${request.status}` };
    }
    const [cancelled] = await tx
      .update(replayRequests)
      .set({ status: 'CANCELLED', error: `cancelled: ${options.reason}`, updatedAt: new Date(), completedAt: new Date() })
      .where(eq(replayRequests.id, replayRequestId))
      .returning();
    await tx.delete(replayRequestEvents).where(eq(replayRequestEvents.replayRequestId, replayRequestId));
    const stopped = await tx
      .update(deliveries)
      .set({ status: 'CANCELLED', lastError: 'replay cancelled', updatedAt: new Date(), completedAt: new Date() })
      .where(and(eq(deliveries.replayRequestId, replayRequestId), eq(deliveries.status, 'PENDING')))
      .returning({ id: deliveries.id });
    await tx.insert(auditEntries).values({
      ...context,
      action: 'replay.cancelled',
      targetType: 'replay_request',
      targetId: replayRequestId,
      details: { reason: options.reason, processed: request.processed, total: request.total, cancelledDeliveries: stopped.length },
    });
    return { ok: true, replayRequest: cancelled!, cancelledDeliveries: stopped.length };
  });
}

/**
 * Advances one bulk replay by one chunk, in one transaction: the request row stays locked
 * (SKIP LOCKED lets other runners take other requests), the chunk's events leave the request's
 * covered set as its deliveries are written, so a crash repeats nothing and loses nothing, and
 * `processed` counts only events taken from that fixed set. Returns false when idle.
 */
export async function runReplayChunk(db: Database, chunkSize = 500): Promise<{ replayRequestId: string; created: number } | false> {
  return db.transaction(async (tx) => {
    const [request] = await tx
      .select()
      .from(replayRequests)
      .where(and(inArray(replayRequests.status, ['PENDING', 'RUNNING']), isNotNull(replayRequests.filter)))
      .orderBy(replayRequests.createdAt)
      .limit(1)
      .for('update', { skipLocked: true });
    if (!request) return false;
    const next = tx
      .select({ eventId: replayRequestEvents.eventId })
      .from(replayRequestEvents)
      .where(eq(replayRequestEvents.replayRequestId, request.id))
      .orderBy(asc(replayRequestEvents.eventId))
      .limit(chunkSize);
    const taken = await tx
      .delete(replayRequestEvents)
      .where(and(eq(replayRequestEvents.replayRequestId, request.id), inArray(replayRequestEvents.eventId, next)))
      .returning({ eventId: replayRequestEvents.eventId });
    const chunk =
      taken.length === 0
        ? []
        : await tx
            .select({ id: events.id, integrationId: events.integrationId, eventKey: events.eventKey, orderingKey: events.orderingKey, eventType: events.eventType, receivedAt: events.receivedAt })
            .from(events)
            // An event whose body retention purged since the request is skipped, never sent empty.
            .where(and(inArray(events.id, taken.map((row) => row.eventId)), isNull(events.bodyPurgedAt)))
            .orderBy(asc(events.receivedAt), asc(events.id));
    let created = 0;
    if (chunk.length > 0) {
      const targets = await tx
        .select()
        .from(destinations)
        .where(and(inArray(destinations.integrationId, [...new Set(chunk.map((event) => event.integrationId))]), eq(destinations.enabled, true)));
      const rows = deliveryRowsFor(chunk, targets, { trigger: 'REPLAY', replayRequestId: request.id });
      if (rows.length > 0) created = (await tx.insert(deliveries).values(rows).returning({ id: deliveries.id })).length;
    }
    const done = taken.length < chunkSize;
    await tx
      .update(replayRequests)
      .set({
        status: done ? 'COMPLETED' : 'RUNNING',
        processed: sql`least(${replayRequests.processed} + ${taken.length}, ${replayRequests.total})`,
        updatedAt: new Date(),
        completedAt: done ? new Date() : null,
      })
      .where(eq(replayRequests.id, request.id));
    return { replayRequestId: request.id, created };
  });
}
