import type { Logger } from '../log.js';
import type { HealthChange } from './destination-health.js';
import { createOutageLog } from '../outage-log.js';
import type { Coordination } from '../ports/coordination.js';

/**
 * Channels on the coordination port; the GraphQL subscriptions listen to these from any instance.
 * A message on DELIVERY_STATUS_CHANNEL is one change (an object) or a group of them (an array).
 */
export const DELIVERY_STATUS_CHANNEL = 'delivery.status';
export const DESTINATION_DISABLED_CHANNEL = 'destination.disabled';
/** Destination health changes (parked, probe failed, unparked, disabled): a JSON array of them. */
export const DESTINATION_HEALTH_CHANNEL = 'destination.health';
/** Newly stored events, one message per persisted batch. */
export const EVENTS_RECEIVED_CHANNEL = 'events.received';
/** Persisted new deliveries: workers claim at once instead of waiting for their next poll. */
export const DELIVERY_WAKE_CHANNEL = 'deliveries.wake';

export interface DeliveryStatusChange {
  deliveryId: string;
  eventId: string;
  integrationId: string;
  destinationId: string;
  previousStatus: string;
  status: string;
  at: string;
}

export interface EventReceivedNotice {
  eventId: string;
  integrationId: string;
  provider: string;
  eventType: string | null;
  receivedAt: string;
}

/** Publishing is best effort: a missed notification costs a dashboard a refresh, never a delivery. */
export function createStatusPublisher(coordination: Pick<Coordination, 'publish'>, log: Logger) {
  // One line when publishing starts failing and one (with a count) when it works again.
  const outage = createOutageLog(log, 'notification publishing', { consequence: 'dashboards miss live updates until it returns' });
  const publish = (channel: string, message: unknown) =>
    coordination.publish(channel, JSON.stringify(message)).then(
      () => outage.succeeded(),
      (error: Error) => outage.failed(error, { channel }),
    );
  return {
    deliveryStatus: (change: Omit<DeliveryStatusChange, 'at'>) => publish(DELIVERY_STATUS_CHANNEL, { ...change, at: new Date().toISOString() }),
    /** A group of changes (one claim, one group commit) as one message: a JSON array of changes. */
    deliveryStatuses: (changes: Omit<DeliveryStatusChange, 'at'>[]) => {
      if (changes.length === 0) return Promise.resolve();
      const at = new Date().toISOString();
      return publish(DELIVERY_STATUS_CHANNEL, changes.map((change) => ({ ...change, at })));
    },
    destinationDisabled: (change: { destinationId: string; integrationId: string; reason: string }) =>
      publish(DESTINATION_DISABLED_CHANNEL, { ...change, at: new Date().toISOString() }),
    destinationHealth: (changes: HealthChange[]) => {
      if (changes.length === 0) return Promise.resolve();
      const at = new Date().toISOString();
      return publish(DESTINATION_HEALTH_CHANNEL, changes.map((change) => ({ ...change, at })));
    },
    wakeDeliveryWorkers: () => publish(DELIVERY_WAKE_CHANNEL, '1'),
    eventsReceived: (notices: EventReceivedNotice[]) => (notices.length > 0 ? publish(EVENTS_RECEIVED_CHANNEL, notices) : Promise.resolve()),
  };
}

export type StatusPublisher = ReturnType<typeof createStatusPublisher>;
