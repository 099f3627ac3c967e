import { and, eq, gte, type SQL, getTableColumns } from 'drizzle-orm';
import { z } from 'zod';
import { retryDelivery } from '../../consumers/replay.js';
import type { deliveryAttempts} from '../../db/schema.js';
import { deliveries, type Delivery } from '../../db/schema.js';
import { builder } from '../builder.js';
import { keysetConnection } from '../cursor.js';
import { badUserInput, ConflictError, GoneError, NotFoundError, ValidationError } from '../errors.js';
import { DestinationRef } from './destination.js';
import { EventRef } from './event.js';

export const DELIVERY_STATUSES = ['PENDING', 'IN_FLIGHT', 'RETRYING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export const DeliveryStatusEnum = builder.enumType('DeliveryStatus', { values: DELIVERY_STATUSES });
const DeliveryTriggerEnum = builder.enumType('DeliveryTrigger', {
  values: {
    DISPATCH: { description: 'The first delivery of a newly stored event' },
    RETRY: { description: 'A one-shot manual retry of a failed delivery' },
    REPLAY: { description: 'Requested by an operator through a replay' },
  },
});

type AttemptRow = typeof deliveryAttempts.$inferSelect;

const DeliveryAttemptRef = builder.objectRef<AttemptRow>('DeliveryAttempt').implement({
  description: 'One POST to the destination. Append-only.',
  fields: (t) => ({
    id: t.exposeID('id'),
    attemptNumber: t.exposeInt('attemptNumber'),
    at: t.expose('startedAt', { type: 'DateTime' }),
    durationMs: t.exposeInt('durationMs'),
    statusCode: t.exposeInt('statusCode', { nullable: true }),
    errorClass: t.exposeString('errorClass', { nullable: true }),
    error: t.exposeString('errorMessage', { nullable: true }),
    responseBody: t.exposeString('responseBody', { nullable: true, description: 'The first 4 KiB of the response' }),
    requestHeaders: t.expose('requestHeaders', { type: 'JSON', description: 'As sent, minus the signature' }),
  }),
});

export const DeliveryRef = builder.objectRef<Delivery>('Delivery').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    status: t.field({ type: DeliveryStatusEnum, resolve: (d) => d.status }),
    trigger: t.field({ type: DeliveryTriggerEnum, resolve: (d) => d.trigger }),
    attemptCount: t.exposeInt('attemptCount'),
    nextAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      resolve: (d) => (['PENDING', 'RETRYING'].includes(d.status) ? d.nextAttemptAt : null),
    }),
    lastStatusCode: t.exposeInt('lastStatusCode', { nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true }),
    eventId: t.exposeID('eventId'),
    destinationId: t.exposeID('destinationId'),
    integrationId: t.exposeID('integrationId'),
    replayRequestId: t.exposeID('replayRequestId', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
    event: t.field({ type: EventRef, resolve: async (d, _args, ctx) => (await ctx.loaders.event.load(d.eventId))! }),
    destination: t.field({ type: DestinationRef, resolve: async (d, _args, ctx) => (await ctx.loaders.destination.load(d.destinationId))! }),
    attempts: t.field({
      type: [DeliveryAttemptRef],
      resolve: (d, _args, ctx) => ctx.loaders.attemptsOfDelivery.load(d.id),
    }),
  }),
});

builder.objectField(EventRef, 'deliveries', (t) =>
  t.field({
    type: [DeliveryRef],
    description: 'Every delivery of this event, oldest first (dispatches, retries and replays)',
    resolve: (event, _args, ctx) => ctx.loaders.deliveriesOfEvent.load(event.id),
  }),
);

const DeliveryFilter = builder.inputType('DeliveryFilter', {
  fields: (t) => ({
    status: t.field({ type: DeliveryStatusEnum }),
    eventId: t.id(),
    integrationId: t.id(),
    destinationId: t.id(),
    since: t.field({ type: 'DateTime', description: 'Created at or after' }),
  }),
});

const deliveryFilterSchema = z
  .object({
    status: z.enum(DELIVERY_STATUSES).nullish(),
    eventId: z.uuid('must be an event id').nullish(),
    integrationId: z.uuid('must be an integration id').nullish(),
    destinationId: z.uuid('must be a destination id').nullish(),
    since: z.date().nullish(),
  })
  .nullish();

builder.queryField('deliveries', (t) =>
  t.connection({
    type: DeliveryRef,
    description: 'Deliveries, newest first.',
    args: { filter: t.arg({ type: DeliveryFilter }) },
    resolve: async (_root, args, ctx) => {
      const parsed = deliveryFilterSchema.safeParse(args.filter);
      if (!parsed.success) throw badUserInput(parsed.error, ['filter']);
      const filter = parsed.data;
      const conditions: SQL[] = [];
      if (filter?.status) conditions.push(eq(deliveries.status, filter.status));
      if (filter?.eventId) conditions.push(eq(deliveries.eventId, filter.eventId));
      if (filter?.integrationId) conditions.push(eq(deliveries.integrationId, filter.integrationId));
      if (filter?.destinationId) conditions.push(eq(deliveries.destinationId, filter.destinationId));
      if (filter?.since) conditions.push(gte(deliveries.createdAt, filter.since));
      return keysetConnection(args, { at: deliveries.createdAt, id: deliveries.id }, ({ where, orderBy, limit, keysetAt }) =>
        ctx.db
          .select({ ...getTableColumns(deliveries), keysetAt })
          .from(deliveries)
          .where(and(...conditions, ...where))
          .orderBy(...orderBy)
          .limit(limit),
      );
    },
  }),
);

export const requestedBySchema = z.string().trim().min(1, 'must not be empty').max(100);
export const reasonSchema = z.string().trim().min(3, 'must be at least 3 characters').max(500);

const RetryDeliveryInput = builder.inputType('RetryDeliveryInput', {
  fields: (t) => ({
    deliveryId: t.id({ required: true }),
    requestedBy: t.string({ required: true, description: '1–100 characters' }),
    reason: t.string({ required: true, description: '3–500 characters' }),
  }),
});

builder.mutationField('retryDelivery', (t) =>
  t.field({
    type: DeliveryRef,
    description: 'One more attempt (exactly one) at a FAILED delivery; a cooldown stops repeated clicks.',
    errors: { types: [ValidationError, NotFoundError, ConflictError, GoneError], union: { name: 'RetryDeliveryResult' } },
    args: { input: t.arg({ type: RetryDeliveryInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const parsed = z
        .object({ deliveryId: z.uuid('must be a delivery id'), requestedBy: requestedBySchema, reason: reasonSchema })
        .safeParse(args.input);
      if (!parsed.success) throw ValidationError.fromZod(parsed.error);
      const outcome = await retryDelivery(
        ctx.db,
        parsed.data.deliveryId,
        { requestedBy: parsed.data.requestedBy, reason: parsed.data.reason, cooldownMs: ctx.settings.retryCooldownMs },
        { actor: ctx.actor, requestId: ctx.requestId, sourceIp: ctx.sourceIp },
      );
      if (!outcome.ok) {
        if (outcome.code === 'DELIVERY_NOT_FOUND') throw new NotFoundError('Delivery', parsed.data.deliveryId);
        if (outcome.code === 'EVENT_GONE') throw new GoneError('Delivery', parsed.data.deliveryId, outcome.message);
        throw new ConflictError(outcome.message, outcome.code);
      }
      await ctx.status.wakeDeliveryWorkers();
      return outcome.delivery;
    },
  }),
);
