import { and, asc, desc, eq, gt, inArray, isNotNull, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { eventFilterConditions, type EventFilterValue } from '../db/event-filter.js';
import { auditEntries, deliveries, destinations, events, replayRequests, type Delivery } from '../db/schema.js';
import { deliveryRowsFor } from './delivery-rows.js';

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
      .select({ id: events.id, integrationId: events.integrationId, eventKey: events.eventKey, orderingKey: events.orderingKey, bodyPurgedAt: events.bodyPurgedAt })
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
      .values(deliveryRowsFor([event], enabled, { trigger: 'REPLAY', replayRequestId: replayRequest!.id }))
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

/** Stored filters keep dates as ISO strings. */
function filterFromStorage(stored: Record<string, unknown> | null): EventFilterValue {
  const filter = { ...(stored ?? {}) } as Record<string, unknown>;
  for (const key of ['receivedAfter', 'receivedBefore'] as const) {
    if (typeof filter[key] === 'string') filter[key] = new Date(filter[key]);
  }
  return filter as EventFilterValue;
}

export type BulkReplayOutcome =
  | { ok: true; replayRequest: typeof replayRequests.$inferSelect }
  | { ok: false; code: 'TOO_MANY_EVENTS' | 'NO_EVENTS'; message: string; matching: number };

/**
 * Records a bulk replay; the replay runner does the work in the background, chunk by chunk.
 * The cap is checked here so an operator learns at once that a filter is too broad.
 */
export async function requestBulkReplay(
  db: Database,
  filter: EventFilterValue,
  options: { requestedBy: string; reason: string; maxEvents: number },
  context: RequestContext,
): Promise<BulkReplayOutcome> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select({ matching: sql<number>`count(*)::int` })
      .from(events)
      .where(and(...eventFilterConditions(filter)));
    const matching = row?.matching ?? 0;
    if (matching === 0) return { ok: false, code: 'NO_EVENTS', message: 'the filter matches no event', matching };
    if (matching > options.maxEvents) {
      return {
        ok: false,
        code: 'TOO_MANY_EVENTS',
        message: `the filter matches ${matching} events; one replay may cover at most ${options.maxEvents} — narrow it (e.g. receivedAfter/receivedBefore)`,
        matching,
      };
    }
    const [created] = await tx
      .insert(replayRequests)
      .values({
        filter: JSON.parse(JSON.stringify(filter)) as Record<string, unknown>,
        requestedBy: options.requestedBy,
        reason: options.reason,
        status: 'PENDING',
        total: matching,
      })
      .returning();
    await tx.insert(auditEntries).values({
      ...context,
      action: 'events.replay_requested',
      targetType: 'replay_request',
      targetId: created!.id,
      details: { filter: created!.filter, matching, requestedBy: options.requestedBy, reason: options.reason },
    });
    return { ok: true, replayRequest: created! };
  });
}

/**
 * Advances one bulk replay by one chunk, in one transaction: the request row stays locked
 * (SKIP LOCKED lets other runners take other requests), its deliveries are written and its
 * cursor moves together, so a crash repeats nothing and loses nothing. Returns false when idle.
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
    const after = request.cursor
      ? [sql`(${events.receivedAt}, ${events.id}) > (${request.cursor[0]}::timestamptz, ${request.cursor[1]}::uuid)`]
      : [];
    const chunk = await tx
      .select({ id: events.id, integrationId: events.integrationId, eventKey: events.eventKey, orderingKey: events.orderingKey, receivedAt: events.receivedAt })
      .from(events)
      .where(and(...eventFilterConditions(filterFromStorage(request.filter)), ...after))
      .orderBy(asc(events.receivedAt), asc(events.id))
      .limit(chunkSize);
    let created = 0;
    if (chunk.length > 0) {
      const targets = await tx
        .select()
        .from(destinations)
        .where(and(inArray(destinations.integrationId, [...new Set(chunk.map((event) => event.integrationId))]), eq(destinations.enabled, true)));
      const rows = deliveryRowsFor(chunk, targets, { trigger: 'REPLAY', replayRequestId: request.id });
      if (rows.length > 0) created = (await tx.insert(deliveries).values(rows).returning({ id: deliveries.id })).length;
    }
    const last = chunk[chunk.length - 1];
    const done = chunk.length < chunkSize;
    await tx
      .update(replayRequests)
      .set({
        status: done ? 'COMPLETED' : 'RUNNING',
        processed: sql`${replayRequests.processed} + ${chunk.length}`,
        cursor: last ? [last.receivedAt.toISOString(), last.id] : request.cursor,
        updatedAt: new Date(),
        completedAt: done ? new Date() : null,
      })
      .where(eq(replayRequests.id, request.id));
    return { replayRequestId: request.id, created };
  });
}
