import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { generateDestinationSecret, isDestinationSecret } from '../../consumers/outbound-signature.js';
import { destinations } from '../../db/schema.js';
import { parkDestination, unparkDestination, type ParkingOutcome } from '../../operations/destination-parking.js';
import { recordAudit } from '../audit.js';
import { builder } from '../builder.js';
import type { GraphContext } from '../context.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { DestinationHealthNotice } from '../live-feed.js';
import { DestinationHealthEnum, DestinationRef, revealSecret } from './destination.js';
import { withFreshLoaders } from './subscriptions.js';
import { previousSecretTtl } from '../input-rules.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const HealthChangeKindEnum = builder.enumType('DestinationHealthChangeKind', {
  description: 'PARKED, PROBE_FAILED and UNPARKED come from the workers or an operator; DISABLED after too long parked',
  values: ['PARKED', 'PROBE_FAILED', 'UNPARKED', 'DISABLED'] as const,
});

const DestinationHealthChangeRef = builder.objectRef<DestinationHealthNotice>('DestinationHealthChange').implement({
  fields: (t) => ({
    destinationId: t.exposeID('destinationId'),
    integrationId: t.exposeID('integrationId'),
    change: t.field({ type: HealthChangeKindEnum, resolve: (notice) => notice.change }),
    health: t.field({
      type: DestinationHealthEnum,
      resolve: (notice) => (notice.change === 'DISABLED' ? 'DISABLED' : notice.change === 'UNPARKED' ? 'HEALTHY' : 'PARKED'),
    }),
    reason: t.exposeString('reason'),
    at: t.field({ type: 'DateTime', resolve: (notice) => new Date(notice.at) }),
    // The row as it is now, loaded with the message's own loaders.
    destination: t.field({
      type: DestinationRef,
      nullable: true,
      resolve: (notice, _args, ctx) => (UUID.test(notice.destinationId) ? ctx.loaders.destination.load(notice.destinationId) : null),
    }),
  }),
});

builder.subscriptionField('destinationHealthChanged', (t) =>
  t.field({
    type: DestinationHealthChangeRef,
    description: 'Every park, failed probe, unpark and disable of a destination, as it happens.',
    args: { integrationId: t.arg.id(), destinationId: t.arg.id() },
    subscribe: (_root, args, ctx) => {
      const parsed = z.object({ integrationId: z.uuid().nullish(), destinationId: z.uuid().nullish() }).safeParse(args);
      if (!parsed.success) throw ValidationError.fromZod(parsed.error, []);
      const { integrationId, destinationId } = parsed.data;
      return withFreshLoaders(
        ctx,
        ctx.live.destinationHealth(
          (notice) => (!integrationId || notice.integrationId === integrationId) && (!destinationId || notice.destinationId === destinationId),
        ),
      );
    },
    resolve: (notice: DestinationHealthNotice) => notice,
  }),
);

const ParkingInput = (name: string) =>
  builder.inputType(name, {
    fields: (t) => ({ id: t.id({ required: true }), reason: t.string({ required: true, description: 'Why (kept in the audit trail)' }) }),
  });
const parkingSchema = z.object({ id: z.uuid('must be a destination id'), reason: z.string().trim().min(3).max(500) });

async function afterParking(ctx: GraphContext, outcome: ParkingOutcome, id: string, change: 'PARKED' | 'UNPARKED', reason: string) {
  if (!outcome.ok && outcome.code === 'NOT_FOUND') throw new NotFoundError('Destination', id);
  if (!outcome.ok) throw new ConflictError(outcome.message, 'DESTINATION_DISABLED');
  if (outcome.changed) {
    await ctx.status.destinationHealth([{ destinationId: outcome.destination.id, integrationId: outcome.destination.integrationId, change, reason }]);
  }
  return outcome.destination;
}

builder.mutationField('parkDestination', (t) =>
  t.field({
    type: DestinationRef,
    description: 'Parks a destination by hand: only probes go out; its deliveries wait in order without spending retries.',
    errors: { types: [ValidationError, NotFoundError, ConflictError], union: { name: 'ParkDestinationResult' } },
    args: { input: t.arg({ type: ParkingInput('ParkDestinationInput'), required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const parsed = parkingSchema.safeParse(input);
      if (!parsed.success) throw ValidationError.fromZod(parsed.error);
      const who = { actor: ctx.actor, requestId: ctx.requestId, sourceIp: ctx.sourceIp };
      const outcome = await parkDestination(ctx.db, parsed.data.id, parsed.data.reason, ctx.settings.probeBaseMs ?? 5_000, who);
      return afterParking(ctx, outcome, parsed.data.id, 'PARKED', parsed.data.reason);
    },
  }),
);

builder.mutationField('unparkDestination', (t) =>
  t.field({
    type: DestinationRef,
    description: 'Unparks a destination: its backlog drains in order, at a rate that ramps up.',
    errors: { types: [ValidationError, NotFoundError, ConflictError], union: { name: 'UnparkDestinationResult' } },
    args: { input: t.arg({ type: ParkingInput('UnparkDestinationInput'), required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const parsed = parkingSchema.safeParse(input);
      if (!parsed.success) throw ValidationError.fromZod(parsed.error);
      const who = { actor: ctx.actor, requestId: ctx.requestId, sourceIp: ctx.sourceIp };
      const outcome = await unparkDestination(ctx.db, parsed.data.id, parsed.data.reason, who);
      return afterParking(ctx, outcome, parsed.data.id, 'UNPARKED', parsed.data.reason);
    },
  }),
);

const RotateDestinationSecretInput = builder.inputType('RotateDestinationSecretInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    secret: t.string({ description: 'The new secret (whsec_ + base64); generated (and shown once) when omitted' }),
    previousSecretTtlSeconds: t.int({ description: 'How long deliveries also carry a signature made with the replaced secret (default 86400; 0 ends it at once)' }),
  }),
});

const rotateSchema = z.object({
  id: z.uuid('must be a destination id'),
  secret: z.string().refine(isDestinationSecret, 'must be whsec_ followed by the base64 of at least 24 random bytes').nullish(),
  previousSecretTtlSeconds: previousSecretTtl,
});

builder.mutationField('rotateDestinationSecret', (t) =>
  t.field({
    type: DestinationRef,
    description:
      'Replaces the signing secret. During the grace period deliveries carry both signatures (v1,<new> v1,<old>), so receivers switch without a gap.',
    errors: { types: [ValidationError, NotFoundError], union: { name: 'RotateDestinationSecretResult' } },
    args: { input: t.arg({ type: RotateDestinationSecretInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const parsed = rotateSchema.safeParse(input);
      if (!parsed.success) throw ValidationError.fromZod(parsed.error);
      const { id, previousSecretTtlSeconds } = parsed.data;
      const secret = parsed.data.secret ?? generateDestinationSecret();
      const rotatedAt = new Date();
      const previousSecretExpiresAt = new Date(rotatedAt.getTime() + previousSecretTtlSeconds * 1000);
      const row = await ctx.db.transaction(async (tx) => {
        const [updated] = await tx
          .update(destinations)
          // The stored (sealed) value moves as it is: the column type seals `secret` on write.
          .set({ previousSecret: sql`${destinations.secret}`, previousSecretExpiresAt, secret, secretRotatedAt: rotatedAt, updatedAt: rotatedAt })
          .where(eq(destinations.id, id))
          .returning();
        if (!updated) throw new NotFoundError('Destination', id);
        await recordAudit(tx, ctx, {
          action: 'destination.secret_rotated',
          targetType: 'destination',
          targetId: id,
          details: { previousSecretExpiresAt: previousSecretExpiresAt.toISOString(), generated: !parsed.data.secret },
        });
        return updated;
      });
      if (!parsed.data.secret) revealSecret(ctx, row.id, secret);
      return row;
    },
  }),
);
