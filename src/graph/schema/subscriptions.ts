import { z } from 'zod';
import type { DeliveryStatusChange, EventReceivedNotice } from '../../consumers/status-events.js';
import { builder } from '../builder.js';
import { badUserInput } from '../errors.js';
import { DELIVERY_STATUSES, DeliveryRef, DeliveryStatusEnum } from './delivery.js';
import { EventRef } from './event.js';

const DeliveryStatusChangeRef = builder.objectRef<DeliveryStatusChange>('DeliveryStatusChange').implement({
  fields: (t) => ({
    // Loaded only when selected, and once per change for every subscriber that selects it.
    delivery: t.field({ type: DeliveryRef, nullable: true, resolve: (change, _args, ctx) => ctx.live.delivery(change) }),
    deliveryId: t.exposeID('deliveryId'),
    eventId: t.exposeID('eventId'),
    integrationId: t.exposeID('integrationId'),
    previousStatus: t.field({ type: DeliveryStatusEnum, resolve: (change) => change.previousStatus as 'PENDING' }),
    status: t.field({ type: DeliveryStatusEnum, resolve: (change) => change.status as 'PENDING' }),
    at: t.field({ type: 'DateTime', resolve: (change) => new Date(change.at) }),
  }),
});

const DeliveryStatusFilter = builder.inputType('DeliveryStatusChangedFilter', {
  fields: (t) => ({ integrationId: t.id(), eventId: t.id(), status: t.field({ type: DeliveryStatusEnum }) }),
});

const statusFilterSchema = z
  .object({ integrationId: z.uuid().nullish(), eventId: z.uuid().nullish(), status: z.enum(DELIVERY_STATUSES).nullish() })
  .nullish();

builder.subscriptionField('deliveryStatusChanged', (t) =>
  t.field({
    type: DeliveryStatusChangeRef,
    description: 'Every delivery status change made by any worker, as it happens.',
    args: { filter: t.arg({ type: DeliveryStatusFilter }) },
    subscribe: (_root, args, ctx) => {
      const parsed = statusFilterSchema.safeParse(args.filter);
      if (!parsed.success) throw badUserInput(parsed.error, ['filter']);
      const filter = parsed.data ?? {};
      return ctx.live.deliveryStatus(
        (change) =>
          (!filter.integrationId || change.integrationId === filter.integrationId) &&
          (!filter.eventId || change.eventId === filter.eventId) &&
          (!filter.status || change.status === filter.status),
      );
    },
    resolve: (change: DeliveryStatusChange) => change,
  }),
);

builder.subscriptionField('eventReceived', (t) =>
  t.field({
    type: EventRef,
    description: 'Each newly stored event (duplicates are not announced).',
    args: { provider: t.arg.string() },
    subscribe: (_root, args, ctx) => ctx.live.eventsReceived((notice: EventReceivedNotice) => !args.provider || notice.provider === args.provider),
    resolve: async (notice: EventReceivedNotice, _args, ctx) => {
      const event = await ctx.live.event(notice.eventId);
      if (!event) throw new Error(`event ${notice.eventId} vanished`);
      return event;
    },
  }),
);
