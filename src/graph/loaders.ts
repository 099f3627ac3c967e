import DataLoader from 'dataloader';
import { inArray } from 'drizzle-orm';
import { eventStatusSql } from '../db/event-filter.js';
import type { Database } from '../db/client.js';
import { deliveries, destinations, events, integrations, type Delivery, type Destination, type Integration } from '../db/schema.js';
import { eventColumns, type EventSummary } from './event-columns.js';

/**
 * Per-request batching: a page of 50 events asking for their destinations costs one query, not
 * fifty. Built fresh for every operation so nothing leaks between callers.
 */
export function createLoaders(db: Database) {
  const byId = <T extends { id: string }>(load: (ids: string[]) => Promise<T[]>) =>
    new DataLoader<string, T | null>(async (ids) => {
      const rows = await load([...ids]);
      const found = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => found.get(id) ?? null);
    });

  return {
    event: byId<EventSummary>((ids) => db.select(eventColumns).from(events).where(inArray(events.id, ids))),
    delivery: byId<Delivery>((ids) => db.select().from(deliveries).where(inArray(deliveries.id, ids))),
    destination: byId<Destination>((ids) => db.select().from(destinations).where(inArray(destinations.id, ids))),
    integration: byId<Integration>((ids) => db.select().from(integrations).where(inArray(integrations.id, ids))),
    /** The raw body is read only when a client selects it. */
    rawBody: new DataLoader<string, Buffer | null>(async (ids) => {
      const rows = await db.select({ id: events.id, rawBody: events.rawBody }).from(events).where(inArray(events.id, [...ids]));
      const found = new Map(rows.map((row) => [row.id, row.rawBody]));
      return ids.map((id) => found.get(id) ?? null);
    }),
    eventStatus: new DataLoader<string, string>(async (ids) => {
      const rows = await db
        .select({ id: events.id, status: eventStatusSql })
        .from(events)
        .where(inArray(events.id, [...ids]));
      const found = new Map(rows.map((row) => [row.id, row.status]));
      return ids.map((id) => found.get(id) ?? 'RECEIVED');
    }),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

