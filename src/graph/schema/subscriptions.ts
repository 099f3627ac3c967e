import { z } from 'zod';
import type { DeliveryStatusChange, EventReceivedNotice } from '../../consumers/status-events.js';
import { builder } from '../builder.js';
import type { GraphContext } from '../context.js';
import { badUserInput } from '../errors.js';
import { createLoaders } from '../loaders.js';
import { DELIVERY_STATUSES, DeliveryRef, DeliveryStatusEnum } from './delivery.js';
import { EventRef } from './event.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const DeliveryStatusChangeRef = builder.objectRef<DeliveryStatusChange>('DeliveryStatusChange').implement({
  fields: (t) => ({
    // Loaded only when selected, with the message's own loaders: always the row as it is now.
    delivery: t.field({
      type: DeliveryRef,
      nullable: true,
      resolve: (change, _args, ctx) => (UUID.test(change.deliveryId) ? ctx.loaders.delivery.load(change.deliveryId) : null),
    }),
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

export interface DeliveryStatusFilterValue {
  integrationId: string | null;
  eventId: string | null;
  status: string | null;
}

/** Shared by the resolver below and the graphql-ws fan-out, which indexes subscribers by it. */
export function parseDeliveryStatusFilter(value: unknown): DeliveryStatusFilterValue {
  const parsed = statusFilterSchema.safeParse(value);
  if (!parsed.success) throw badUserInput(parsed.error, ['filter']);
  return { integrationId: parsed.data?.integrationId ?? null, eventId: parsed.data?.eventId ?? null, status: parsed.data?.status ?? null };
}

export function parseProviderFilter(value: unknown): string | null {
  const parsed = z.string().trim().max(64).nullish().safeParse(value);
  if (!parsed.success) throw badUserInput(parsed.error, ['provider']);
  return parsed.data || null;
}

/**
 * For transports that execute once per subscriber (SSE): the operation's context lives as long as
 * the subscription, so each message gets new loaders before it is resolved. graphql-js pulls the
 * next message only after the previous one was executed, so the swap never races a resolver.
 */
export function withFreshLoaders<T>(ctx: GraphContext, source: AsyncIterable<T>): AsyncIterableIterator<T> {
  // Not an async generator: its return() would wait for the next message, and an unsubscribe
  // must end the stream at once.
  const inner = source[Symbol.asyncIterator]();
  return {
    async next() {
      const result = await inner.next();
      if (!result.done) ctx.loaders = createLoaders(ctx.db);
      return result;
    },
    return: (value?: unknown) => (inner.return ? inner.return(value) : Promise.resolve({ done: true as const, value: undefined })),
    throw: (error?: unknown) => (inner.throw ? inner.throw(error) : Promise.reject(error instanceof Error ? error : new Error(String(error)))),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

builder.subscriptionField('deliveryStatusChanged', (t) =>
  t.field({
    type: DeliveryStatusChangeRef,
    description: 'Every delivery status change made by any worker, as it happens.',
    args: { filter: t.arg({ type: DeliveryStatusFilter }) },
    subscribe: (_root, args, ctx) => {
      const filter = parseDeliveryStatusFilter(args.filter);
      return withFreshLoaders(
        ctx,
        ctx.live.deliveryStatus(
          (change) =>
            (!filter.integrationId || change.integrationId === filter.integrationId) &&
            (!filter.eventId || change.eventId === filter.eventId) &&
            (!filter.status || change.status === filter.status),
        ),
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
    subscribe: (_root, args, ctx) => {
      const provider = parseProviderFilter(args.provider);
      return withFreshLoaders(
        ctx,
        ctx.live.eventsReceived((notice: EventReceivedNotice) => !provider || notice.provider === provider),
      );
    },
    resolve: async (notice: EventReceivedNotice, _args, ctx) => {
      const event = UUID.test(notice.eventId) ? await ctx.loaders.event.load(notice.eventId) : null;
      if (!event) throw new Error(`event ${notice.eventId} vanished`);
      return event;
    },
  }),
);
