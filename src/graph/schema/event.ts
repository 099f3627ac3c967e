import { and } from 'drizzle-orm';
import { z } from 'zod';
import { events } from '../../db/schema.js';
import { builder } from '../builder.js';
import { keysetConnection } from '../cursor.js';
import { badUserInput } from '../errors.js';
import { eventColumns, type EventSummary } from '../event-columns.js';
import { EVENT_STATUSES, eventFilterConditions, type EventFilterValue } from '../../db/event-filter.js';

export const EventStatusEnum = builder.enumType('EventStatus', {
  description: 'Derived from the latest delivery to each destination.',
  values: {
    RECEIVED: { description: 'Stored; no destination to deliver to' },
    DELIVERING: { description: 'At least one delivery is pending, in flight or waiting to retry' },
    DELIVERED: { description: 'The latest delivery to every destination succeeded' },
    FAILED: { description: 'The latest delivery to some destination failed or was cancelled' },
  },
});

export const EventRef = builder.objectRef<EventSummary>('Event').implement({
  description: 'A verified webhook, stored once.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Deterministic: UUIDv5 of integrationId:eventKey; the ingress returns it' }),
    integrationId: t.exposeID('integrationId'),
    provider: t.exposeString('provider'),
    eventKey: t.exposeString('eventKey'),
    eventType: t.exposeString('eventType', { nullable: true }),
    orderingKey: t.exposeString('orderingKey', { nullable: true }),
    receivedAt: t.expose('receivedAt', { type: 'DateTime' }),
    persistedAt: t.expose('persistedAt', { type: 'DateTime' }),
    payload: t.field({
      type: 'JSON',
      description:
        'The body as JSON, loaded only when selected. Read from the raw body when the database could not hold it as jsonb (an escaped NUL, a lone surrogate).',
      resolve: async (event, _args, ctx) => {
        const body = await ctx.loaders.eventBody.load(event.id);
        if (body && body.payload !== null) return body.payload;
        const text = ((await ctx.loaders.rawBody.load(event.id)) ?? Buffer.alloc(0)).toString('utf8');
        // The ingress accepted only JSON objects nested no deeper than MAX_JSON_DEPTH, so this parse is bounded.
        try {
          return JSON.parse(text) as unknown;
        } catch {
          return text;
        }
      },
    }),
    headers: t.field({
      type: 'JSON',
      description: 'Request headers kept with the event (never signatures or tokens). Loaded only when selected.',
      resolve: async (event, _args, ctx) => (await ctx.loaders.eventBody.load(event.id))?.headers ?? {},
    }),
    sourceIp: t.exposeString('sourceIp', { nullable: true }),
    kafkaPartition: t.exposeInt('kafkaPartition', { nullable: true }),
    kafkaOffset: t.string({ nullable: true, resolve: (event) => event.kafkaOffset?.toString() ?? null }),
    rawBody: t.string({
      description: 'The body as received, read as UTF-8 text (bytes that are not valid UTF-8 show as U+FFFD; rawBodyBase64 has them). Loaded only when selected.',
      resolve: async (event, _args, ctx) => ((await ctx.loaders.rawBody.load(event.id)) ?? Buffer.alloc(0)).toString('utf8'),
    }),
    rawBodyBase64: t.string({
      description: 'The body exactly as received, byte for byte, in base64. Loaded only when selected.',
      resolve: async (event, _args, ctx) => ((await ctx.loaders.rawBody.load(event.id)) ?? Buffer.alloc(0)).toString('base64'),
    }),
    status: t.field({
      type: EventStatusEnum,
      resolve: (event) => event.status,
    }),
  }),
});

export const EventFilter = builder.inputType('EventFilter', {
  fields: (t) => ({
    provider: t.string(),
    integrationId: t.id(),
    eventType: t.string(),
    status: t.field({ type: EventStatusEnum }),
    eventKey: t.string(),
    eventKeyPrefix: t.string({ description: 'Events whose key starts with this, e.g. "order_1234"' }),
    payloadContains: t.field({
      type: 'JSON',
      description: 'Events whose payload contains this JSON object or array, e.g. {"customer": {"id": "cus_123"}}',
    }),
    receivedAfter: t.field({ type: 'DateTime', description: 'Inclusive' }),
    receivedBefore: t.field({ type: 'DateTime', description: 'Exclusive' }),
  }),
});

export const eventFilterSchema = z
  .object({
    provider: z.string().trim().min(1).max(64).nullish(),
    integrationId: z.uuid('must be an integration id').nullish(),
    eventType: z.string().min(1).max(200).nullish(),
    status: z.enum(EVENT_STATUSES).nullish(),
    eventKey: z.string().min(1).max(256).nullish(),
    eventKeyPrefix: z.string().min(1).max(256).nullish(),
    payloadContains: z
      .union([z.record(z.string(), z.unknown()), z.array(z.unknown())], 'must be a JSON object or array')
      .refine((value) => JSON.stringify(value).length <= 8192, 'must be at most 8 KiB of JSON')
      .nullish(),
    receivedAfter: z.date().nullish(),
    receivedBefore: z.date().nullish(),
  })
  .refine((f) => !f.receivedAfter || !f.receivedBefore || f.receivedAfter < f.receivedBefore, {
    message: 'receivedAfter must be earlier than receivedBefore',
    path: ['receivedAfter'],
  })
  .nullish();

export function parseEventFilter(value: unknown, path: string[]): EventFilterValue | null {
  const parsed = eventFilterSchema.safeParse(value);
  if (!parsed.success) throw badUserInput(parsed.error, path);
  return parsed.data ?? null;
}

builder.queryField('events', (t) =>
  t.connection({
    type: EventRef,
    description: 'Stored events, newest first.',
    args: { filter: t.arg({ type: EventFilter }) },
    resolve: async (_root, args, ctx) => {
      const conditions = eventFilterConditions(parseEventFilter(args.filter, ['filter']));
      return keysetConnection(args, { at: events.receivedAt, id: events.id }, ({ where, orderBy, limit, keysetAt }) =>
        ctx.db
          .select({ ...eventColumns, keysetAt })
          .from(events)
          .where(and(...conditions, ...where))
          .orderBy(...orderBy)
          .limit(limit),
      );
    },
  }),
);

builder.queryField('event', (t) =>
  t.field({
    type: EventRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => {
      const id = z.uuid().safeParse(String(args.id));
      return id.success ? ctx.loaders.event.load(id.data) : null;
    },
  }),
);
