import type { deliveries } from '../db/schema.js';
import { matchesEventTypes } from './event-type-filter.js';

type NewDelivery = typeof deliveries.$inferInsert;

/**
 * One new delivery per (event, enabled destination of the event's integration whose event-type
 * filter matches). An ordered destination orders by the event's ordering key, else by its event
 * key. `ignoreFilter`: a replay that names its destination sends whatever the filter says.
 */
export function deliveryRowsFor(
  events: readonly { id: string; integrationId: string; eventKey: string; orderingKey: string | null; eventType?: string | null }[],
  targets: readonly { id: string; integrationId: string; ordered: boolean; eventTypes?: string[] }[],
  extra: Pick<NewDelivery, 'trigger' | 'replayRequestId'> = {},
  options: { ignoreFilter?: boolean } = {},
): NewDelivery[] {
  return events.flatMap((event) =>
    targets
      .filter((target) => target.integrationId === event.integrationId)
      .filter((target) => options.ignoreFilter === true || matchesEventTypes(target.eventTypes ?? [], event.eventType ?? null))
      .map((target) => ({
        eventId: event.id,
        destinationId: target.id,
        integrationId: event.integrationId,
        orderingKey: target.ordered ? (event.orderingKey ?? event.eventKey) : null,
        ...extra,
      })),
  );
}
