import { and, desc, eq, gt, inArray } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { auditEntries, deliveries, destinations, events, replayRequests, type Delivery } from '../db/schema.js';

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
  | { ok: false; code: 'EVENT_NOT_FOUND' | 'DESTINATION_NOT_FOUND' | 'NO_ENABLED_DESTINATION'; message: string };

export async function replayEvent(
  db: Database,
  eventId: string,
  options: { destinationId?: string | null; requestedBy: string; reason: string },
  context: RequestContext,
): Promise<ReplayOutcome> {
  return db.transaction(async (tx) => {
    const [event] = await tx
      .select({ id: events.id, integrationId: events.integrationId, eventKey: events.eventKey, orderingKey: events.orderingKey })
      .from(events)
      .where(eq(events.id, eventId));
    if (!event) return { ok: false, code: 'EVENT_NOT_FOUND', message: `event ${eventId} was not found` };
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
      .values(
        enabled.map((target) => ({
          eventId: event.id,
          destinationId: target.id,
          integrationId: event.integrationId,
          trigger: 'REPLAY' as const,
          replayRequestId: replayRequest!.id,
          orderingKey: target.ordered ? (event.orderingKey ?? event.eventKey) : null,
        })),
      )
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
  | { ok: false; code: 'DELIVERY_NOT_FOUND' | 'NOT_FAILED' | 'COOLDOWN' | 'DESTINATION_DISABLED'; message: string };

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
