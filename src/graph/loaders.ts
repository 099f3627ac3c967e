import DataLoader from 'dataloader';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import {
  auditEntries,
  deliveries,
  deliveryAttempts,
  destinations,
  events,
  integrations,
  type AuditEntry,
  type Delivery,
  type Destination,
  type Integration,
} from '../db/schema.js';
import { eventColumns, type EventSummary } from './event-columns.js';

export type DeliveryAttempt = typeof deliveryAttempts.$inferSelect;

/** How many deliveries `ReplayRequest.deliveries` lists per request. */
export const REPLAY_DELIVERIES_LISTED = 100;

/**
 * Per-operation batching: every list and object field below a list is loaded for all its parents
 * in one statement, so a page of 50 events with their deliveries, attempts, destinations and audit
 * entries costs a handful of statements, not hundreds. Built fresh for every operation (and for
 * every subscription message) so nothing is served stale or grows with a long-lived connection.
 */
export function createLoaders(db: Database) {
  const byId = <T extends { id: string }>(load: (ids: string[]) => Promise<T[]>) =>
    new DataLoader<string, T | null>(async (ids) => {
      const rows = await load([...ids]);
      const found = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => found.get(id) ?? null);
    });

  /** Rows grouped by a parent key, in the order the statement returned them. */
  const grouped = <T>(keyOf: (row: T) => string, load: (keys: string[]) => Promise<T[]>) =>
    new DataLoader<string, T[]>(async (keys) => {
      const groups = new Map<string, T[]>(keys.map((key) => [key, []]));
      for (const row of await load([...keys])) groups.get(keyOf(row))?.push(row);
      return keys.map((key) => groups.get(key) ?? []);
    });

  return {
    event: byId<EventSummary>((ids) => db.select(eventColumns).from(events).where(inArray(events.id, ids))),
    delivery: byId<Delivery>((ids) => db.select().from(deliveries).where(inArray(deliveries.id, ids))),
    destination: byId<Destination>((ids) => db.select().from(destinations).where(inArray(destinations.id, ids))),
    integration: byId<Integration>((ids) => db.select().from(integrations).where(inArray(integrations.id, ids))),
    /** Payload and headers: loaded only when selected. */
    eventBody: byId<{ id: string; payload: unknown; headers: Record<string, string> }>((ids) =>
      db.select({ id: events.id, payload: events.payload, headers: events.headers }).from(events).where(inArray(events.id, ids)),
    ),
    /** The raw body is read only when a client selects it. */
    rawBody: new DataLoader<string, Buffer | null>(async (ids) => {
      const rows = await db.select({ id: events.id, rawBody: events.rawBody }).from(events).where(inArray(events.id, [...ids]));
      const found = new Map(rows.map((row) => [row.id, row.rawBody]));
      return ids.map((id) => found.get(id) ?? null);
    }),
    deliveriesOfEvent: grouped<Delivery>(
      (row) => row.eventId,
      (ids) => db.select().from(deliveries).where(inArray(deliveries.eventId, ids)).orderBy(asc(deliveries.sequence)),
    ),
    attemptsOfDelivery: grouped<DeliveryAttempt>(
      (row) => row.deliveryId,
      (ids) => db.select().from(deliveryAttempts).where(inArray(deliveryAttempts.deliveryId, ids)).orderBy(asc(deliveryAttempts.attemptNumber)),
    ),
    auditOfEvent: grouped<AuditEntry>(
      (row) => row.targetId!,
      (ids) =>
        db
          .select()
          .from(auditEntries)
          .where(and(eq(auditEntries.targetType, 'event'), inArray(auditEntries.targetId, ids)))
          .orderBy(asc(auditEntries.at), asc(auditEntries.id)),
    ),
    destinationsOfIntegration: grouped<Destination>(
      (row) => row.integrationId,
      (ids) => db.select().from(destinations).where(inArray(destinations.integrationId, ids)).orderBy(asc(destinations.createdAt), asc(destinations.id)),
    ),
    /** The first REPLAY_DELIVERIES_LISTED deliveries of each replay request, in one statement. */
    deliveriesOfReplay: grouped<Delivery>(
      (row) => row.replayRequestId!,
      async (ids) => {
        const ranked = db
          .select({ id: deliveries.id, rank: sql<number>`row_number() over (partition by ${deliveries.replayRequestId} order by ${deliveries.sequence})`.as('rank') })
          .from(deliveries)
          .where(inArray(deliveries.replayRequestId, ids))
          .as('ranked');
        const rows = await db
          .select({ delivery: deliveries })
          .from(deliveries)
          .innerJoin(ranked, eq(ranked.id, deliveries.id))
          .where(sql`${ranked.rank} <= ${REPLAY_DELIVERIES_LISTED}`)
          .orderBy(asc(deliveries.sequence));
        return rows.map((row) => row.delivery);
      },
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
