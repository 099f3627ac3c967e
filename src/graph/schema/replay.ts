import { and, eq, type SQL, getTableColumns } from 'drizzle-orm';
import { errorTypeMap, wrapErrorIfMatches } from '@pothos/plugin-errors';
import { z } from 'zod';
import { cancelReplay, previewBulkReplay, replayEvent, requestBulkReplay, type BulkReplayPreview } from '../../consumers/replay.js';
import type { deliveries} from '../../db/schema.js';
import { replayRequests } from '../../db/schema.js';
import { builder } from '../builder.js';
import { keysetConnection } from '../cursor.js';
import { badUserInput, ConflictError, ForbiddenError, GoneError, NotFoundError, ValidationError } from '../errors.js';
import { DeliveryRef, reasonSchema, requestedBySchema } from './delivery.js';
import { EventFilter, parseEventFilter } from './event.js';

type ReplayRequestRow = typeof replayRequests.$inferSelect;
const REPLAY_STATUSES = ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
const ReplayStatusEnum = builder.enumType('ReplayStatus', { values: REPLAY_STATUSES });

export const ReplayRequestRef = builder.objectRef<ReplayRequestRow>('ReplayRequest').implement({
  description: 'A request to deliver stored events again. Replays never go back through Kafka.',
  fields: (t) => ({
    id: t.exposeID('id'),
    eventId: t.exposeID('eventId', { nullable: true }),
    destinationId: t.exposeID('destinationId', { nullable: true }),
    filter: t.expose('filter', { type: 'JSON', nullable: true, description: 'For bulk replays: the event filter' }),
    requestedBy: t.exposeString('requestedBy'),
    reason: t.exposeString('reason'),
    status: t.field({ type: ReplayStatusEnum, resolve: (r) => r.status }),
    total: t.exposeInt('total', { description: 'Events covered' }),
    processed: t.exposeInt('processed', { description: 'Events given new deliveries so far' }),
    error: t.exposeString('error', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
    deliveries: t.field({
      type: [DeliveryRef],
      description: 'The deliveries this replay created (first 100)',
      resolve: (r, _args, ctx) => ctx.loaders.deliveriesOfReplay.load(r.id),
    }),
  }),
});

builder.queryField('replayRequests', (t) =>
  t.connection({
    type: ReplayRequestRef,
    description: 'Replay requests, newest first.',
    args: { status: t.arg({ type: ReplayStatusEnum }), eventId: t.arg.id() },
    resolve: async (_root, args, ctx) => {
      const parsed = z.object({ status: z.enum(REPLAY_STATUSES).nullish(), eventId: z.uuid().nullish() }).safeParse(args);
      if (!parsed.success) throw badUserInput(parsed.error, []);
      const conditions: SQL[] = [];
      if (parsed.data.status) conditions.push(eq(replayRequests.status, parsed.data.status));
      if (parsed.data.eventId) conditions.push(eq(replayRequests.eventId, parsed.data.eventId));
      return keysetConnection(args, { at: replayRequests.createdAt, id: replayRequests.id }, ({ where, orderBy, limit, keysetAt }) =>
        ctx.db
          .select({ ...getTableColumns(replayRequests), keysetAt })
          .from(replayRequests)
          .where(and(...conditions, ...where))
          .orderBy(...orderBy)
          .limit(limit),
      );
    },
  }),
);

const RequestReplayInput = builder.inputType('RequestReplayInput', {
  fields: (t) => ({
    eventId: t.id({ required: true }),
    destinationId: t.id({ description: 'Replay to this destination only; default: every enabled destination' }),
    requestedBy: t.string({ required: true, description: '1–100 characters after trimming' }),
    reason: t.string({ required: true, description: '3–500 characters after trimming' }),
  }),
});

const RequestReplayPayload = builder.objectRef<{ replayRequest: ReplayRequestRow; deliveries: (typeof deliveries.$inferSelect)[] }>('RequestReplayPayload').implement({
  fields: (t) => ({
    replayRequest: t.field({ type: ReplayRequestRef, resolve: (p) => p.replayRequest }),
    deliveries: t.field({ type: [DeliveryRef], resolve: (p) => p.deliveries }),
  }),
});

builder.mutationField('requestReplay', (t) =>
  t.field({
    type: RequestReplayPayload,
    description: 'Delivers one stored event again, as new deliveries with trigger REPLAY.',
    errors: { types: [ValidationError, NotFoundError, GoneError], union: { name: 'RequestReplayResult' } },
    args: { input: t.arg({ type: RequestReplayInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const parsed = z
        .object({
          eventId: z.uuid('must be an event id'),
          destinationId: z.uuid('must be a destination id').nullish(),
          requestedBy: requestedBySchema,
          reason: reasonSchema,
        })
        .safeParse(args.input);
      if (!parsed.success) throw ValidationError.fromZod(parsed.error);
      const { eventId, destinationId, requestedBy, reason } = parsed.data;
      const outcome = await replayEvent(ctx.db, eventId, { destinationId, requestedBy, reason }, { actor: ctx.actor, requestId: ctx.requestId, sourceIp: ctx.sourceIp });
      if (!outcome.ok) {
        if (outcome.code === 'EVENT_NOT_FOUND') throw new NotFoundError('Event', eventId);
        if (outcome.code === 'EVENT_GONE') throw new GoneError('Event', eventId, outcome.message);
        if (outcome.code === 'DESTINATION_NOT_FOUND') throw new NotFoundError('Destination', destinationId!);
        throw new ValidationError(outcome.message, [{ path: ['input', 'destinationId'], message: outcome.message }]);
      }
      await ctx.status.wakeDeliveryWorkers();
      return { replayRequest: outcome.replayRequest, deliveries: outcome.deliveries };
    },
  }),
);

const ReplayEventsInput = builder.inputType('ReplayEventsInput', {
  fields: (t) => ({
    filter: t.field({ type: EventFilter, required: true }),
    requestedBy: t.string({ required: true }),
    reason: t.string({ required: true }),
    dryRun: t.boolean({ defaultValue: false, description: 'Only count what the replay would cover; create nothing' }),
  }),
});

const ReplayPreviewRef = builder.objectRef<BulkReplayPreview>('ReplayPreview').implement({
  description: 'What a bulk replay would cover if requested now (dryRun): nothing was created.',
  fields: (t) => ({
    events: t.exposeInt('events', { description: 'Events matching the filter now' }),
    deliveries: t.exposeInt('deliveries', { description: 'Deliveries it would create: one per enabled destination of each event' }),
  }),
});

/** graphql-js treats a returned Error as a thrown one: the errors plugin's wrapper makes it a union member. */
const failure = (error: ValidationError) => wrapErrorIfMatches(error, [ValidationError]) as unknown as BulkReplayPreview;

const ReplayEventsResult = builder.unionType('ReplayEventsResult', {
  types: [ReplayRequestRef, ReplayPreviewRef, ValidationError, ForbiddenError],
  resolveType: (value) => {
    const errorType = errorTypeMap.get(value as object);
    if (errorType) return errorType === ForbiddenError ? 'ForbiddenError' : 'ValidationError';
    return 'requestedBy' in value ? 'ReplayRequest' : 'ReplayPreview';
  },
});

builder.mutationField('replayEvents', (t) =>
  t.field({
    type: ReplayEventsResult,
    description:
      'Replays every event matching the filter when asked — exactly those, never later arrivals — in the background; watch `processed` reach `total`. With dryRun, answers the counts only.',
    args: { input: t.arg({ type: ReplayEventsInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const people = z.object({ requestedBy: requestedBySchema, reason: reasonSchema }).safeParse(args.input);
      if (!people.success) return failure(ValidationError.fromZod(people.error));
      let filter;
      try {
        filter = parseEventFilter(args.input.filter, ['input', 'filter']) ?? {};
      } catch (error) {
        const fieldErrors = ((error as { extensions?: { fieldErrors?: { path: string[]; message: string }[] } }).extensions?.fieldErrors) ?? [];
        return failure(new ValidationError((error as Error).message, fieldErrors));
      }
      if (args.input.dryRun) return previewBulkReplay(ctx.db, filter);
      const outcome = await requestBulkReplay(
        ctx.db,
        filter,
        { ...people.data, maxEvents: ctx.settings.replayMaxEvents },
        { actor: ctx.actor, requestId: ctx.requestId, sourceIp: ctx.sourceIp },
      );
      if (!outcome.ok) return failure(new ValidationError(outcome.message, [{ path: ['input', 'filter'], message: outcome.message }]));
      return outcome.replayRequest;
    },
  }),
);

const CancelReplayInput = builder.inputType('CancelReplayInput', {
  fields: (t) => ({
    id: t.id({ required: true, description: 'The replay request' }),
    reason: t.string({ required: true, description: '3–500 characters after trimming' }),
  }),
});

builder.mutationField('cancelReplay', (t) =>
  t.field({
    type: ReplayRequestRef,
    description: 'Stops a PENDING or RUNNING bulk replay: no further events are replayed, and its deliveries not yet started are cancelled. Audited.',
    errors: { types: [ValidationError, NotFoundError, ConflictError], union: { name: 'CancelReplayResult' } },
    args: { input: t.arg({ type: CancelReplayInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const parsed = z.object({ id: z.uuid('must be a replay request id'), reason: reasonSchema }).safeParse({ ...args.input, id: String(args.input.id) });
      if (!parsed.success) throw ValidationError.fromZod(parsed.error);
      const outcome = await cancelReplay(ctx.db, parsed.data.id, { reason: parsed.data.reason }, { actor: ctx.actor, requestId: ctx.requestId, sourceIp: ctx.sourceIp });
      if (!outcome.ok) {
        if (outcome.code === 'REPLAY_NOT_FOUND') throw new NotFoundError('ReplayRequest', parsed.data.id);
        throw new ConflictError(outcome.message, outcome.code);
      }
      return outcome.replayRequest;
    },
  }),
);
