import { randomUUID } from 'node:crypto';
import DataLoader from 'dataloader';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { releaseParkedDeliveries } from '../../consumers/parked-deliveries.js';
import { generateDestinationSecret, isDestinationSecret } from '../../consumers/outbound-signature.js';
import { deliveries, destinations, integrations, type Destination } from '../../db/schema.js';
import { recordAudit } from '../audit.js';
import { builder } from '../builder.js';
import type { GraphContext } from '../context.js';
import { NotFoundError, ValidationError, type FieldError } from '../errors.js';
import { headerNamesOf, policyAuditDetails, policyColumns, policyInputFields, policySchema } from './destination-policy.js';

export const DESTINATION_HEALTH = ['HEALTHY', 'PARKED', 'DISABLED'] as const;
export const DestinationHealthEnum = builder.enumType('DestinationHealth', {
  description: 'HEALTHY: delivering. PARKED: failing; only probes are sent, deliveries wait in order. DISABLED: nothing is sent.',
  values: DESTINATION_HEALTH,
});

export function healthOf(row: Pick<Destination, 'enabled' | 'parkedAt'>): (typeof DESTINATION_HEALTH)[number] {
  if (!row.enabled) return 'DISABLED';
  return row.parkedAt ? 'PARKED' : 'HEALTHY';
}

/**
 * A generated secret is shown exactly once: in the result of the mutation that generated it. It
 * is kept per request context (never on the row, never in a loader), so any later read is null.
 */
const revealed = new WeakMap<object, Map<string, string>>();
export function revealSecret(ctx: object, destinationId: string, secret: string): void {
  const secrets = revealed.get(ctx) ?? new Map<string, string>();
  secrets.set(destinationId, secret);
  revealed.set(ctx, secrets);
}

/**
 * Unfinished deliveries per destination, and how many of them workers hold right now: one
 * statement per request for every destination asked.
 */
interface DestinationLoad {
  backlog: number;
  inFlight: number;
}
const loadLoaders = new WeakMap<object, DataLoader<string, DestinationLoad>>();
function loadLoader(ctx: GraphContext): DataLoader<string, DestinationLoad> {
  let loader = loadLoaders.get(ctx.loaders);
  if (!loader) {
    loader = new DataLoader(async (ids: readonly string[]) => {
      const rows = await ctx.db
        .select({
          destinationId: deliveries.destinationId,
          backlog: sql<number>`count(*)::int`,
          inFlight: sql<number>`(count(*) filter (where ${deliveries.status} = 'IN_FLIGHT'))::int`,
        })
        .from(deliveries)
        .where(and(inArray(deliveries.destinationId, [...ids]), inArray(deliveries.status, ['PENDING', 'RETRYING', 'IN_FLIGHT'])))
        .groupBy(deliveries.destinationId);
      const counts = new Map(rows.map((row) => [row.destinationId, row]));
      return ids.map((id) => counts.get(id) ?? { backlog: 0, inFlight: 0 });
    });
    // Keyed by the loaders object: a subscription message's fresh loaders get a fresh count.
    loadLoaders.set(ctx.loaders, loader);
  }
  return loader;
}

export const DestinationRef = builder.objectRef<Destination>('Destination').implement({
  description: 'Where an integration’s events are delivered. Secrets and static header values are write-only.',
  fields: (t) => ({
    id: t.exposeID('id'),
    integrationId: t.exposeID('integrationId'),
    url: t.exposeString('url'),
    ordered: t.exposeBoolean('ordered', { description: 'Deliveries for one event key go one at a time, in order of receipt' }),
    enabled: t.exposeBoolean('enabled'),
    disabledReason: t.exposeString('disabledReason', { nullable: true }),
    disabledAt: t.expose('disabledAt', { type: 'DateTime', nullable: true }),
    signingSecret: t.string({
      nullable: true,
      description: 'The generated signing secret: only in the result of the mutation that generated it (create, add, rotate); null everywhere else',
      resolve: (row, _args, ctx) => revealed.get(ctx)?.get(row.id) ?? null,
    }),
    secretRotatedAt: t.expose('secretRotatedAt', { type: 'DateTime', nullable: true }),
    previousSecretExpiresAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'Until then deliveries carry a second signature made with the replaced secret',
      resolve: (row) => (row.previousSecretExpiresAt && row.previousSecretExpiresAt > new Date() ? row.previousSecretExpiresAt : null),
    }),
    eventTypes: t.exposeStringList('eventTypes', { description: 'Event types delivered (exact or trailing wildcard); empty = all' }),
    headerNames: t.stringList({ description: 'Names of the static headers; their values are write-only', resolve: (row) => headerNamesOf(row.headers) }),
    maxPerSecond: t.exposeInt('maxPerSecond', { nullable: true }),
    maxConcurrency: t.exposeInt('maxConcurrency', { nullable: true }),
    health: t.field({ type: DestinationHealthEnum, resolve: (row) => healthOf(row) }),
    parkedAt: t.expose('parkedAt', { type: 'DateTime', nullable: true }),
    parkedReason: t.exposeString('parkedReason', { nullable: true }),
    nextProbeAt: t.field({ type: 'DateTime', nullable: true, resolve: (row) => (row.parkedAt ? row.nextProbeAt : null) }),
    pausedUntil: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'A receiver’s Retry-After pauses the destination for every worker until then',
      resolve: (row) => (row.pausedUntil && row.pausedUntil > new Date() ? row.pausedUntil : null),
    }),
    parkAfterFailures: t.exposeInt('parkAfterFailures'),
    parkFailureRatio: t.exposeFloat('parkFailureRatio'),
    parkWindowSeconds: t.exposeInt('parkWindowSeconds'),
    disableAfterParkedSeconds: t.exposeInt('disableAfterParkedSeconds'),
    consecutiveFailures: t.exposeInt('consecutiveFailures'),
    backlog: t.int({
      description: 'Deliveries not yet final (pending, retrying or in flight); for a parked destination, what waits for it',
      resolve: async (row, _args, ctx) => (await loadLoader(ctx).load(row.id)).backlog,
    }),
    currentConcurrency: t.int({
      description:
        'Deliveries to this destination that workers hold now, across every worker: being sent, or held back until the destination’s window (adaptive per worker, capped by maxConcurrency) has room',
      resolve: async (row, _args, ctx) => (await loadLoader(ctx).load(row.id)).inFlight,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

export const DestinationInput = builder.inputType('DestinationInput', {
  fields: (t) => ({
    url: t.string({ required: true }),
    secret: t.string({ description: 'Standard Webhooks secret (whsec_ + base64); generated (and shown once) when omitted; write-only' }),
    ordered: t.boolean({ defaultValue: false }),
    ...policyInputFields(t),
  }),
});

export const destinationSchema = z
  .object({
    url: z.string().trim().min(1).max(2048),
    secret: z
      .string()
      .refine(isDestinationSecret, 'must be whsec_ followed by the base64 of at least 24 random bytes')
      .nullish(),
    ordered: z.boolean().nullish(),
  })
  .extend(policySchema.shape);

/** SSRF check at creation (DNS included); the workers check again at every send. */
export async function checkDestinationUrls(ctx: GraphContext, urls: { url: string; path: string[] }[]): Promise<void> {
  const problems: FieldError[] = [];
  for (const { url, path } of urls) {
    const verdict = await ctx.destinationGuard.check(url);
    if (!verdict.ok) problems.push({ path, message: verdict.reason });
  }
  if (problems.length > 0) {
    throw new ValidationError(`invalid input: ${problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`, problems);
  }
}

/** A new row; a secret the caller did not give is generated and revealed in this request's result only. */
export function newDestinationRow(ctx: object, integrationId: string, input: z.infer<typeof destinationSchema>) {
  const id = randomUUID();
  const secret = input.secret ?? generateDestinationSecret();
  if (!input.secret) revealSecret(ctx, id, secret);
  return { id, integrationId, url: input.url, secret, ordered: input.ordered ?? false, ...policyColumns(input) };
}

const AddDestinationInput = builder.inputType('AddDestinationInput', {
  fields: (t) => ({
    integrationId: t.id({ required: true }),
    url: t.string({ required: true }),
    secret: t.string(),
    ordered: t.boolean({ defaultValue: false }),
    ...policyInputFields(t),
  }),
});

builder.mutationField('addDestination', (t) =>
  t.field({
    type: DestinationRef,
    errors: { types: [ValidationError, NotFoundError], union: { name: 'AddDestinationResult' } },
    args: { input: t.arg({ type: AddDestinationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const parsed = destinationSchema.extend({ integrationId: z.uuid() }).safeParse(input);
      if (!parsed.success) throw ValidationError.fromZod(parsed.error);
      await checkDestinationUrls(ctx, [{ url: parsed.data.url, path: ['input', 'url'] }]);
      return ctx.db.transaction(async (tx) => {
        const [integration] = await tx.select({ id: integrations.id }).from(integrations).where(eq(integrations.id, parsed.data.integrationId));
        if (!integration) throw new NotFoundError('Integration', parsed.data.integrationId);
        const [row] = await tx.insert(destinations).values(newDestinationRow(ctx, integration.id, parsed.data)).returning();
        await recordAudit(tx, ctx, {
          action: 'destination.created',
          targetType: 'destination',
          targetId: row!.id,
          details: { integrationId: integration.id, url: row!.url, ...policyAuditDetails(parsed.data) },
        });
        return row!;
      });
    },
  }),
);

const UpdateDestinationInput = builder.inputType('UpdateDestinationInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    url: t.string(),
    secret: t.string({ description: 'A new signing secret; write-only' }),
    ordered: t.boolean(),
    enabled: t.boolean({ description: 'true re-enables a disabled destination' }),
    ...policyInputFields(t),
  }),
});

builder.mutationField('updateDestination', (t) =>
  t.field({
    type: DestinationRef,
    errors: { types: [ValidationError, NotFoundError], union: { name: 'UpdateDestinationResult' } },
    args: { input: t.arg({ type: UpdateDestinationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const parsed = destinationSchema.partial().extend({ id: z.uuid(), enabled: z.boolean().nullish() }).safeParse(input);
      if (!parsed.success) throw ValidationError.fromZod(parsed.error);
      const { id, url, secret, ordered, enabled, ...policy } = parsed.data;
      if (url) await checkDestinationUrls(ctx, [{ url, path: ['input', 'url'] }]);
      return ctx.db.transaction(async (tx) => {
        const [row] = await tx
          .update(destinations)
          .set({
            ...(url ? { url } : {}),
            ...(secret ? { secret } : {}),
            ...(ordered != null ? { ordered } : {}),
            ...policyColumns(policy),
            // Re-enabling also ends a parking: the operator says the receiver is back.
            ...(enabled === true ? { enabled: true, disabledReason: null, disabledAt: null, parkedAt: null, parkedReason: null, nextProbeAt: null, consecutiveFailures: 0 } : {}),
            ...(enabled === false ? { enabled: false, disabledReason: 'disabled by an operator', disabledAt: new Date() } : {}),
            updatedAt: new Date(),
          })
          .where(eq(destinations.id, id))
          .returning();
        if (!row) throw new NotFoundError('Destination', id);
        if (enabled === true) await releaseParkedDeliveries(tx, row.id, 'created');
        const changed = Object.entries({ url, secret: secret ? 'rotated' : undefined, ordered, enabled }).filter(([, value]) => value != null);
        await recordAudit(tx, ctx, {
          action: 'destination.updated',
          targetType: 'destination',
          targetId: row.id,
          details: { changed: { ...Object.fromEntries(changed), ...policyAuditDetails(policy) } },
        });
        return row;
      });
    },
  }),
);

const DisableDestinationInput = builder.inputType('DisableDestinationInput', {
  fields: (t) => ({ id: t.id({ required: true }), reason: t.string({ required: true }) }),
});

builder.mutationField('disableDestination', (t) =>
  t.field({
    type: DestinationRef,
    errors: { types: [ValidationError, NotFoundError], union: { name: 'DisableDestinationResult' } },
    args: { input: t.arg({ type: DisableDestinationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const parsed = z.object({ id: z.uuid(), reason: z.string().trim().min(3).max(500) }).safeParse(input);
      if (!parsed.success) throw ValidationError.fromZod(parsed.error);
      const row = await ctx.db.transaction(async (tx) => {
        const [updated] = await tx
          .update(destinations)
          .set({ enabled: false, disabledReason: parsed.data.reason, disabledAt: new Date(), updatedAt: new Date(), parkedAt: null, parkedReason: null, nextProbeAt: null })
          .where(and(eq(destinations.id, parsed.data.id)))
          .returning();
        if (!updated) throw new NotFoundError('Destination', parsed.data.id);
        // Deliveries a parking held back become due, to be cancelled like any disabled destination's.
        await releaseParkedDeliveries(tx, updated.id, 'now');
        await recordAudit(tx, ctx, { action: 'destination.disabled', targetType: 'destination', targetId: updated.id, details: { reason: parsed.data.reason } });
        return updated;
      });
      await ctx.status.destinationDisabled({ destinationId: row.id, integrationId: row.integrationId, reason: parsed.data.reason });
      return row;
    },
  }),
);
