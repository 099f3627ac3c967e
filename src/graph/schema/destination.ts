import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { generateDestinationSecret, isDestinationSecret } from '../../consumers/outbound-signature.js';
import { destinations, integrations, type Destination } from '../../db/schema.js';
import { recordAudit } from '../audit.js';
import { builder } from '../builder.js';
import type { GraphContext } from '../context.js';
import { NotFoundError, ValidationError, type FieldError } from '../errors.js';

export const DestinationRef = builder.objectRef<Destination>('Destination').implement({
  description: 'Where an integration’s events are delivered. The signing secret is write-only.',
  fields: (t) => ({
    id: t.exposeID('id'),
    integrationId: t.exposeID('integrationId'),
    url: t.exposeString('url'),
    ordered: t.exposeBoolean('ordered', { description: 'Deliveries for one event key go one at a time, in order of receipt' }),
    enabled: t.exposeBoolean('enabled'),
    disabledReason: t.exposeString('disabledReason', { nullable: true }),
    disabledAt: t.expose('disabledAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

export const DestinationInput = builder.inputType('DestinationInput', {
  fields: (t) => ({
    url: t.string({ required: true }),
    secret: t.string({ description: 'Standard Webhooks secret (whsec_ + base64); generated when omitted; write-only' }),
    ordered: t.boolean({ defaultValue: false }),
  }),
});

export const destinationSchema = z.object({
  url: z.string().trim().min(1).max(2048),
  secret: z
    .string()
    .refine(isDestinationSecret, 'must be whsec_ followed by the base64 of at least 24 random bytes')
    .nullish(),
  ordered: z.boolean().nullish(),
});

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

export function newDestinationRow(integrationId: string, input: z.infer<typeof destinationSchema>) {
  return { integrationId, url: input.url, secret: input.secret ?? generateDestinationSecret(), ordered: input.ordered ?? false };
}

const AddDestinationInput = builder.inputType('AddDestinationInput', {
  fields: (t) => ({
    integrationId: t.id({ required: true }),
    url: t.string({ required: true }),
    secret: t.string(),
    ordered: t.boolean({ defaultValue: false }),
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
        const [row] = await tx.insert(destinations).values(newDestinationRow(integration.id, parsed.data)).returning();
        await recordAudit(tx, ctx, { action: 'destination.created', targetType: 'destination', targetId: row!.id, details: { integrationId: integration.id, url: row!.url } });
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
      const { id, url, secret, ordered, enabled } = parsed.data;
      if (url) await checkDestinationUrls(ctx, [{ url, path: ['input', 'url'] }]);
      return ctx.db.transaction(async (tx) => {
        const [row] = await tx
          .update(destinations)
          .set({
            ...(url ? { url } : {}),
            ...(secret ? { secret } : {}),
            ...(ordered != null ? { ordered } : {}),
            ...(enabled === true ? { enabled: true, disabledReason: null, disabledAt: null } : {}),
            ...(enabled === false ? { enabled: false, disabledReason: 'disabled by an operator', disabledAt: new Date() } : {}),
            updatedAt: new Date(),
          })
          .where(eq(destinations.id, id))
          .returning();
        if (!row) throw new NotFoundError('Destination', id);
        const changed = Object.entries({ url, secret: secret ? 'rotated' : undefined, ordered, enabled }).filter(([, value]) => value != null);
        await recordAudit(tx, ctx, {
          action: 'destination.updated',
          targetType: 'destination',
          targetId: row.id,
          details: { changed: Object.fromEntries(changed) },
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
          .set({ enabled: false, disabledReason: parsed.data.reason, disabledAt: new Date(), updatedAt: new Date() })
          .where(and(eq(destinations.id, parsed.data.id)))
          .returning();
        if (!updated) throw new NotFoundError('Destination', parsed.data.id);
        await recordAudit(tx, ctx, { action: 'destination.disabled', targetType: 'destination', targetId: updated.id, details: { reason: parsed.data.reason } });
        return updated;
      });
      await ctx.status.destinationDisabled({ destinationId: row.id, integrationId: row.integrationId, reason: parsed.data.reason });
      return row;
    },
  }),
);
