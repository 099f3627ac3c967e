import type { deliveries } from '../db/schema.js';

type NewDelivery = typeof deliveries.$inferInsert;

/**
 * One new delivery per (event, enabled destination of the event's integration). An ordered
 * destination orders by the event's ordering key, else by its event key.
 */
export function deliveryRowsFor(
  events: readonly { id: string; integrationId: string; eventKey: string; orderingKey: string | null }[],
  targets: readonly { id: string; integrationId: string; ordered: boolean }[],
  extra: Pick<NewDelivery, 'trigger' | 'replayRequestId'> = {},
): NewDelivery[] {
  return events.flatMap((event) =>
    targets
      .filter((target) => target.integrationId === event.integrationId)
      .map((target) => ({
        eventId: event.id,
        destinationId: target.id,
        integrationId: event.integrationId,
        orderingKey: target.ordered ? (event.orderingKey ?? event.eventKey) : null,
        ...extra,
      })),
  );
}
