import { createPubSub, filter, pipe } from 'graphql-yoga';
import type { HealthChange } from '../consumers/destination-health.js';
import {
  DELIVERY_STATUS_CHANNEL,
  DESTINATION_HEALTH_CHANNEL,
  EVENTS_RECEIVED_CHANNEL,
  type DeliveryStatusChange,
  type EventReceivedNotice,
} from '../consumers/status-events.js';
import type { Database } from '../db/client.js';
import type { Logger } from '../log.js';
import type { Coordination } from '../ports/coordination.js';

/**
 * Subscriptions start from one coordination-port subscription per process (Redis pub/sub, so a
 * change made by a worker anywhere reaches every API instance). From there, graphql-ws
 * subscribers are served by the fan-out (one execution per distinct document and variables, see
 * fan-out.ts), and any other transport (SSE) through an in-process pub/sub, one execution per
 * subscriber. Either way each message is resolved with fresh loaders: nothing a subscriber sees is
 * older than the message, and nothing accumulates over a long-lived connection.
 */
export type LiveMessage = { kind: 'deliveryStatus'; change: DeliveryStatusChange } | { kind: 'eventReceived'; notice: EventReceivedNotice };

/** A destination health change as published (status-events.ts). */
export type DestinationHealthNotice = HealthChange & { at: string };

export function createLiveFeed(deps: { coordination: Pick<Coordination, 'subscribe'>; db: Database; log: Logger }) {
  const pubsub = createPubSub<{
    deliveryStatus: [DeliveryStatusChange];
    eventReceived: [EventReceivedNotice];
    destinationHealth: [DestinationHealthNotice];
  }>();
  const unsubscribers: (() => Promise<void>)[] = [];
  const listeners = new Set<(message: LiveMessage) => void>();

  const parse = <T>(message: string): T | undefined => {
    try {
      return JSON.parse(message) as T;
    } catch {
      deps.log.warn({ length: message.length }, 'ignoring a malformed notification');
      return undefined;
    }
  };
  const emit = (message: LiveMessage) => {
    for (const listener of listeners) listener(message);
  };

  return {
    async start() {
      unsubscribers.push(
        await deps.coordination.subscribe(DELIVERY_STATUS_CHANNEL, (message) => {
          // Workers publish a group of changes as one array; a single change is an object.
          const parsed = parse<DeliveryStatusChange | DeliveryStatusChange[]>(message);
          for (const change of Array.isArray(parsed) ? parsed : parsed ? [parsed] : []) {
            if (!change || typeof change !== 'object') continue;
            pubsub.publish('deliveryStatus', change);
            emit({ kind: 'deliveryStatus', change });
          }
        }),
        // Served per subscriber (not through the graphql-ws fan-out): health changes are rare.
        await deps.coordination.subscribe(DESTINATION_HEALTH_CHANNEL, (message) => {
          const changes = parse<DestinationHealthNotice[]>(message);
          if (!Array.isArray(changes)) return;
          for (const change of changes) if (change && typeof change === 'object') pubsub.publish('destinationHealth', change);
        }),
        await deps.coordination.subscribe(EVENTS_RECEIVED_CHANNEL, (message) => {
          const notices = parse<EventReceivedNotice[]>(message);
          if (!Array.isArray(notices)) return;
          for (const notice of notices) {
            pubsub.publish('eventReceived', notice);
            emit({ kind: 'eventReceived', notice });
          }
        }),
      );
    },
    async stop() {
      await Promise.all(unsubscribers.splice(0).map((unsubscribe) => unsubscribe()));
    },
    /** Every message, as it arrives: the fan-out's single entry point. */
    listen(listener: (message: LiveMessage) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    deliveryStatus(match: (change: DeliveryStatusChange) => boolean) {
      return pipe(pubsub.subscribe('deliveryStatus'), filter(match));
    },
    destinationHealth(match: (change: DestinationHealthNotice) => boolean) {
      return pipe(pubsub.subscribe('destinationHealth'), filter(match));
    },
    eventsReceived(match: (notice: EventReceivedNotice) => boolean) {
      return pipe(pubsub.subscribe('eventReceived'), filter(match));
    },
  };
}

export type LiveFeed = ReturnType<typeof createLiveFeed>;
