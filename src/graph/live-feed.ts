import { inArray } from 'drizzle-orm';
import { createPubSub, filter, pipe } from 'graphql-yoga';
import { DELIVERY_STATUS_CHANNEL, EVENTS_RECEIVED_CHANNEL, type DeliveryStatusChange, type EventReceivedNotice } from '../consumers/status-events.js';
import type { Database } from '../db/client.js';
import { deliveries, events, type Delivery } from '../db/schema.js';
import type { Logger } from '../log.js';
import type { Coordination } from '../ports/coordination.js';
import { eventColumns, type EventSummary } from './event-columns.js';

/**
 * Subscriptions fan out in two steps: one coordination-port subscription per process (Redis
 * pub/sub, so a change made by a worker anywhere reaches every API instance), then an in-process
 * pub/sub to each subscriber. A thousand dashboards cost one Redis subscription, and the rows they
 * all select are loaded once per change, not once per subscriber.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function createLiveFeed(deps: { coordination: Pick<Coordination, 'subscribe'>; db: Database; log: Logger }) {
  const pubsub = createPubSub<{ deliveryStatus: [DeliveryStatusChange]; eventReceived: [EventReceivedNotice] }>();
  const unsubscribers: (() => Promise<void>)[] = [];
  const recent = new Map<string, { value: Promise<unknown>; expiresAt: number }>();

  /** Shares one load between every subscriber served the same message. */
  function shared<T>(key: string, load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = recent.get(key);
    if (hit && hit.expiresAt > now) return hit.value as Promise<T>;
    if (recent.size > 10_000) for (const [k, entry] of recent) if (entry.expiresAt <= now) recent.delete(k);
    const value = load();
    recent.set(key, { value, expiresAt: now + 2000 });
    return value;
  }

  const parse = <T>(message: string): T | undefined => {
    try {
      return JSON.parse(message) as T;
    } catch {
      deps.log.warn({ message: message.slice(0, 200) }, 'ignoring a malformed notification');
      return undefined;
    }
  };

  return {
    async start() {
      unsubscribers.push(
        await deps.coordination.subscribe(DELIVERY_STATUS_CHANNEL, (message) => {
          // Workers publish a group of changes as one array; a single change is an object.
          const parsed = parse<DeliveryStatusChange | DeliveryStatusChange[]>(message);
          for (const change of Array.isArray(parsed) ? parsed : parsed ? [parsed] : []) pubsub.publish('deliveryStatus', change);
        }),
        await deps.coordination.subscribe(EVENTS_RECEIVED_CHANNEL, (message) => {
          for (const notice of parse<EventReceivedNotice[]>(message) ?? []) pubsub.publish('eventReceived', notice);
        }),
      );
    },
    async stop() {
      await Promise.all(unsubscribers.splice(0).map((unsubscribe) => unsubscribe()));
    },
    deliveryStatus(match: (change: DeliveryStatusChange) => boolean) {
      return pipe(pubsub.subscribe('deliveryStatus'), filter(match));
    },
    eventsReceived(match: (notice: EventReceivedNotice) => boolean) {
      return pipe(pubsub.subscribe('eventReceived'), filter(match));
    },
    delivery(change: DeliveryStatusChange): Promise<Delivery | null> {
      if (!UUID.test(change.deliveryId)) return Promise.resolve(null);
      return shared(`delivery:${change.deliveryId}:${change.status}:${change.at}`, async () => {
        const [row] = await deps.db.select().from(deliveries).where(inArray(deliveries.id, [change.deliveryId]));
        return row ?? null;
      });
    },
    event(eventId: string): Promise<EventSummary | null> {
      return shared(`event:${eventId}`, async () => {
        const [row] = await deps.db.select(eventColumns).from(events).where(inArray(events.id, [eventId]));
        return row ?? null;
      });
    },
  };
}

export type LiveFeed = ReturnType<typeof createLiveFeed>;
