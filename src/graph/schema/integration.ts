import { and, eq, sql, getTableColumns } from 'drizzle-orm';
import { z } from 'zod';
import { destinations, integrations, type Integration, type VerificationSettings } from '../../db/schema.js';
import { isValidJsonPath } from '../../ingress/event-key.js';
import { schemeFor, SUPPORTED_SCHEMES, type SchemeName } from '../../ingress/schemes/index.js';
import { publicKeyFrom } from '../../ingress/schemes/public-key.js';
import { recordAudit } from '../audit.js';
import { builder } from '../builder.js';
import { keysetConnection } from '../cursor.js';
import { badUserInput, ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { checkDestinationUrls, DestinationInput, DestinationRef, destinationSchema, newDestinationRow } from './destination.js';
import { previousSecretTtl } from '../input-rules.js';

// The registry is the list: a new preset appears here without touching this file.
const SCHEMES = SUPPORTED_SCHEMES;

export const VerificationSchemeEnum = builder.enumType('VerificationScheme', { values: SCHEMES });

const VerificationRef = builder.objectRef<{ scheme: SchemeName; settings: VerificationSettings }>('Verification').implement({
  description: 'How webhooks of an integration are verified. Secrets are never readable.',
  fields: (t) => ({
    scheme: t.field({ type: VerificationSchemeEnum, resolve: (v) => v.scheme }),
    header: t.string({ nullable: true, resolve: (v) => v.settings.header ?? null }),
    eventKeyPath: t.string({ nullable: true, resolve: (v) => v.settings.eventKeyPath ?? null }),
    eventTypePath: t.string({ nullable: true, resolve: (v) => v.settings.eventTypePath ?? null }),
    toleranceSeconds: t.int({ nullable: true, resolve: (v) => v.settings.toleranceSeconds ?? null }),
    orderingKeyPath: t.string({ nullable: true, resolve: (v) => v.settings.orderingKeyPath ?? null }),
    publicUrl: t.string({ nullable: true, resolve: (v) => v.settings.publicUrl ?? null }),
  }),
});

export const IntegrationRef = builder.objectRef<Integration>('Integration').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    provider: t.exposeString('provider', { description: 'The `:provider` of the ingress URL' }),
    name: t.exposeString('name'),
    enabled: t.exposeBoolean('enabled'),
    verification: t.field({ type: VerificationRef, resolve: (row) => ({ scheme: row.scheme, settings: row.settings }) }),
    rateLimitPerMinute: t.exposeInt('rateLimitPerMinute', { nullable: true }),
    secretRotatedAt: t.expose('secretRotatedAt', { type: 'DateTime', nullable: true }),
    previousSecretExpiresAt: t.expose('previousSecretExpiresAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    destinations: t.field({
      type: [DestinationRef],
      resolve: (integration, _args, ctx) => ctx.loaders.destinationsOfIntegration.load(integration.id),
    }),
  }),
});

const VerificationInput = builder.inputType('VerificationInput', {
  fields: (t) => ({
    scheme: t.field({ type: VerificationSchemeEnum, required: true }),
    secret: t.string({
      required: true,
      description: 'Signing secret or shared token; for DISCORD and SENDGRID the public key the provider shows; for POSTMARK `user:password`. Write-only',
    }),
    header: t.string({ description: 'Header carrying the signature or token, for schemes that allow choosing it' }),
    eventKeyPath: t.string({ description: 'JSON path of the event key in the body, e.g. $.id' }),
    eventTypePath: t.string({ description: 'JSON path of the event type in the body, e.g. $.type' }),
    toleranceSeconds: t.int({ description: 'Allowed clock skew for timestamped schemes (default 300)' }),
    orderingKeyPath: t.string({ description: 'JSON path of the key ordered destinations order by, e.g. $.order_id (default: the event key)' }),
    publicUrl: t.string({ description: 'The URL the provider calls, exactly as configured there; required by presets that sign the URL (TWILIO, SQUARE, HUBSPOT)' }),
  }),
});

const CreateIntegrationInput = builder.inputType('CreateIntegrationInput', {
  fields: (t) => ({
    provider: t.string({ required: true }),
    name: t.string({ required: true }),
    verification: t.field({ type: VerificationInput, required: true }),
    destinations: t.field({ type: [DestinationInput], description: 'Where to deliver this integration’s events' }),
    rateLimitPerMinute: t.int(),
  }),
});

const optionalPath = z
  .string()
  .trim()
  .refine(isValidJsonPath, 'must be a simple JSON path such as $.id or $.data.object.id')
  .nullish();

/** The verification fields; updateIntegration takes the non-secret part of them. */
export const verificationFields = z.object({
  scheme: z.enum(SCHEMES),
  secret: z.string().min(16, 'must be at least 16 characters').max(1024),
  header: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9-]{1,100}$/, 'must be an HTTP header name')
    .transform((header) => header.toLowerCase())
    .nullish(),
  eventKeyPath: optionalPath,
  eventTypePath: optionalPath,
  toleranceSeconds: z.number().int().min(1).max(86_400).nullish(),
  orderingKeyPath: optionalPath,
  publicUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2000).nullish(),
});

// Checks that need the preset: a URL for presets that sign it, a readable key for public-key ones.
const verificationSchema = verificationFields.superRefine((verification, ctx) => {
  const scheme = schemeFor(verification.scheme);
  if (scheme?.signsUrl && !verification.publicUrl) {
    ctx.addIssue({ code: 'custom', path: ['publicUrl'], message: `${verification.scheme} signs the URL it calls: give the public URL configured there` });
  }
  if (scheme?.publicKey && !publicKeyFrom(verification.secret)) {
    ctx.addIssue({ code: 'custom', path: ['secret'], message: `${verification.scheme} verifies with the provider's public key: give it as PEM, base64 DER or (Ed25519) 64 hex digits` });
  }
});

export const createIntegrationSchema = z.object({
  provider: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be 1-64 lower-case letters, digits, "-" or "_"'),
  name: z.string().trim().min(1).max(200),
  verification: verificationSchema,
  destinations: z.array(destinationSchema).max(20).nullish(),
  rateLimitPerMinute: z.number().int().min(1).max(100_000_000).nullish(),
});

export function settingsFrom(
  verification: Pick<
    z.infer<typeof createIntegrationSchema>['verification'],
    'header' | 'eventKeyPath' | 'eventTypePath' | 'toleranceSeconds' | 'orderingKeyPath' | 'publicUrl'
  >,
): VerificationSettings {
  const settings: VerificationSettings = {};
  if (verification.header) settings.header = verification.header;
  if (verification.eventKeyPath) settings.eventKeyPath = verification.eventKeyPath;
  if (verification.eventTypePath) settings.eventTypePath = verification.eventTypePath;
  if (verification.toleranceSeconds) settings.toleranceSeconds = verification.toleranceSeconds;
  if (verification.orderingKeyPath) settings.orderingKeyPath = verification.orderingKeyPath;
  if (verification.publicUrl) settings.publicUrl = verification.publicUrl;
  return settings;
}

builder.mutationField('createIntegration', (t) =>
  t.field({
    type: IntegrationRef,
    errors: { types: [ValidationError, ConflictError], union: { name: 'CreateIntegrationResult' } },
    args: { input: t.arg({ type: CreateIntegrationInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const parsed = createIntegrationSchema.safeParse(args.input);
      if (!parsed.success) throw ValidationError.fromZod(parsed.error);
      const input = parsed.data;
      await checkDestinationUrls(
        ctx,
        (input.destinations ?? []).map((destination, index) => ({ url: destination.url, path: ['input', 'destinations', String(index), 'url'] })),
      );
      const created = await ctx.db.transaction(async (tx) => {
        const [row] = await tx
          .insert(integrations)
          .values({
            provider: input.provider,
            name: input.name,
            scheme: input.verification.scheme,
            settings: settingsFrom(input.verification),
            secret: input.verification.secret,
            rateLimitPerMinute: input.rateLimitPerMinute ?? null,
          })
          .onConflictDoNothing()
          .returning();
        if (!row) throw new ConflictError(`an integration for provider "${input.provider}" already exists`, 'ALREADY_EXISTS');
        const added = input.destinations?.length
          ? await tx.insert(destinations).values(input.destinations.map((destination) => newDestinationRow(ctx, row.id, destination))).returning({ id: destinations.id })
          : [];
        await recordAudit(tx, ctx, {
          action: 'integration.created',
          targetType: 'integration',
          targetId: row.id,
          details: { provider: row.provider, scheme: row.scheme, destinationIds: added.map((destination) => destination.id) },
        });
        return row;
      });
      await ctx.integrations.changed(created.provider);
      return created;
    },
  }),
);

const RotateIntegrationSecretInput = builder.inputType('RotateIntegrationSecretInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    secret: t.string({ required: true, description: 'The new signing secret or token; write-only' }),
    previousSecretTtlSeconds: t.int({
      description: 'How long the replaced secret keeps verifying (default 86400 = 24 h; 0 ends it at once)',
    }),
  }),
});

const rotateSchema = z.object({
  id: z.uuid('must be an integration id'),
  secret: z.string().min(16, 'must be at least 16 characters').max(1024),
  previousSecretTtlSeconds: previousSecretTtl,
});

builder.mutationField('rotateIntegrationSecret', (t) =>
  t.field({
    type: IntegrationRef,
    description: 'Replaces the signing secret; the old one keeps verifying until its grace period ends.',
    errors: { types: [ValidationError, NotFoundError], union: { name: 'RotateIntegrationSecretResult' } },
    args: { input: t.arg({ type: RotateIntegrationSecretInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const parsed = rotateSchema.safeParse(args.input);
      if (!parsed.success) throw ValidationError.fromZod(parsed.error);
      const { id, secret, previousSecretTtlSeconds } = parsed.data;
      const rotatedAt = new Date();
      const previousSecretExpiresAt = new Date(rotatedAt.getTime() + previousSecretTtlSeconds * 1000);
      const rotated = await ctx.db.transaction(async (tx) => {
        const [row] = await tx
          .update(integrations)
          .set({
            previousSecret: sql`${integrations.secret}`,
            previousSecretExpiresAt,
            secret,
            secretRotatedAt: rotatedAt,
            updatedAt: rotatedAt,
          })
          .where(eq(integrations.id, id))
          .returning();
        if (!row) throw new NotFoundError('Integration', id);
        // Thrown inside the transaction, so an unreadable key never replaces a working one.
        if (schemeFor(row.scheme)?.publicKey && !publicKeyFrom(secret)) {
          const message = `${row.scheme} verifies with the provider's public key: give it as PEM, base64 DER or (Ed25519) 64 hex digits`;
          throw new ValidationError(`invalid input: input.secret: ${message}`, [{ path: ['input', 'secret'], message }]);
        }
        await recordAudit(tx, ctx, {
          action: 'integration.secret_rotated',
          targetType: 'integration',
          targetId: row.id,
          details: { provider: row.provider, previousSecretExpiresAt: previousSecretExpiresAt.toISOString() },
        });
        return row;
      });
      await ctx.integrations.changed(rotated.provider);
      return rotated;
    },
  }),
);

const VerificationSettingsInput = builder.inputType('VerificationSettingsInput', {
  fields: (t) => ({
    header: t.string(),
    eventKeyPath: t.string(),
    eventTypePath: t.string(),
    toleranceSeconds: t.int(),
    orderingKeyPath: t.string(),
    publicUrl: t.string(),
  }),
});

const UpdateIntegrationInput = builder.inputType('UpdateIntegrationInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string(),
    enabled: t.boolean(),
    rateLimitPerMinute: t.int(),
    verification: t.field({ type: VerificationSettingsInput, description: 'Replaces the non-secret settings; rotate the secret with rotateIntegrationSecret' }),
    destinations: t.field({ type: [DestinationInput], description: 'Destinations to add' }),
  }),
});

const updateIntegrationSchema = z.object({
  id: z.uuid('must be an integration id'),
  name: z.string().trim().min(1).max(200).nullish(),
  enabled: z.boolean().nullish(),
  rateLimitPerMinute: z.number().int().min(1).max(100_000_000).nullish(),
  verification: verificationFields.omit({ scheme: true, secret: true }).nullish(),
  destinations: z.array(destinationSchema).max(20).nullish(),
});

builder.mutationField('updateIntegration', (t) =>
  t.field({
    type: IntegrationRef,
    errors: { types: [ValidationError, NotFoundError], union: { name: 'UpdateIntegrationResult' } },
    args: { input: t.arg({ type: UpdateIntegrationInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const parsed = updateIntegrationSchema.safeParse(args.input);
      if (!parsed.success) throw ValidationError.fromZod(parsed.error);
      const input = parsed.data;
      await checkDestinationUrls(
        ctx,
        (input.destinations ?? []).map((destination, index) => ({ url: destination.url, path: ['input', 'destinations', String(index), 'url'] })),
      );
      const updated = await ctx.db.transaction(async (tx) => {
        const [row] = await tx
          .update(integrations)
          .set({
            ...(input.name ? { name: input.name } : {}),
            ...(input.enabled != null ? { enabled: input.enabled } : {}),
            ...(input.rateLimitPerMinute ? { rateLimitPerMinute: input.rateLimitPerMinute } : {}),
            ...(input.verification ? { settings: settingsFrom(input.verification) } : {}),
            updatedAt: new Date(),
          })
          .where(eq(integrations.id, input.id))
          .returning();
        if (!row) throw new NotFoundError('Integration', input.id);
        const added = input.destinations?.length
          ? await tx.insert(destinations).values(input.destinations.map((destination) => newDestinationRow(ctx, row.id, destination))).returning({ id: destinations.id })
          : [];
        await recordAudit(tx, ctx, {
          action: 'integration.updated',
          targetType: 'integration',
          targetId: row.id,
          details: {
            changed: Object.keys(input).filter((key) => key !== 'id' && key !== 'destinations' && input[key as keyof typeof input] != null),
            addedDestinationIds: added.map((destination) => destination.id),
          },
        });
        return row;
      });
      await ctx.integrations.changed(updated.provider);
      return updated;
    },
  }),
);

builder.queryField('integrations', (t) =>
  t.connection({
    type: IntegrationRef,
    description: 'Integrations, newest first. Secrets are never readable.',
    args: { enabled: t.arg.boolean() },
    resolve: async (_root, args, ctx) => {
      const conditions = args.enabled == null ? [] : [eq(integrations.enabled, args.enabled)];
      return keysetConnection(args, { at: integrations.createdAt, id: integrations.id }, ({ where, orderBy, limit, keysetAt }) =>
        ctx.db
          .select({ ...getTableColumns(integrations), keysetAt })
          .from(integrations)
          .where(and(...conditions, ...where))
          .orderBy(...orderBy)
          .limit(limit),
      );
    },
  }),
);

builder.queryField('integration', (t) =>
  t.field({
    type: IntegrationRef,
    nullable: true,
    description: 'One integration, by id or by provider slug.',
    args: { id: t.arg.id(), provider: t.arg.string() },
    resolve: async (_root, args, ctx) => {
      const parsed = z
        .object({ id: z.uuid().nullish(), provider: z.string().trim().min(1).max(64).nullish() })
        .refine((value) => Boolean(value.id) !== Boolean(value.provider), { message: 'give exactly one of id or provider', path: ['id'] })
        .safeParse({ id: args.id == null ? null : String(args.id), provider: args.provider });
      if (!parsed.success) throw badUserInput(parsed.error, []);
      const condition = parsed.data.id ? eq(integrations.id, parsed.data.id) : eq(integrations.provider, parsed.data.provider!);
      const [row] = await ctx.db.select().from(integrations).where(condition);
      return row ?? null;
    },
  }),
);
