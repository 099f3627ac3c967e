import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { integrations, type Integration, type VerificationSettings } from '../../db/schema.js';
import { isValidJsonPath } from '../../ingress/event-key.js';
import { SUPPORTED_SCHEMES, type SchemeName } from '../../ingress/schemes/index.js';
import { recordAudit } from '../audit.js';
import { builder } from '../builder.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';

const SCHEMES = ['HMAC_SHA256', 'SHARED_TOKEN', 'STRIPE', 'GITHUB', 'SHOPIFY', 'SLACK', 'STANDARD_WEBHOOKS'] as const;

export const VerificationSchemeEnum = builder.enumType('VerificationScheme', { values: SCHEMES });

const VerificationRef = builder.objectRef<{ scheme: SchemeName; settings: VerificationSettings }>('Verification').implement({
  description: 'How webhooks of an integration are verified. Secrets are never readable.',
  fields: (t) => ({
    scheme: t.field({ type: VerificationSchemeEnum, resolve: (v) => v.scheme }),
    header: t.string({ nullable: true, resolve: (v) => v.settings.header ?? null }),
    eventKeyPath: t.string({ nullable: true, resolve: (v) => v.settings.eventKeyPath ?? null }),
    eventTypePath: t.string({ nullable: true, resolve: (v) => v.settings.eventTypePath ?? null }),
    toleranceSeconds: t.int({ nullable: true, resolve: (v) => v.settings.toleranceSeconds ?? null }),
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
  }),
});

const VerificationInput = builder.inputType('VerificationInput', {
  fields: (t) => ({
    scheme: t.field({ type: VerificationSchemeEnum, required: true }),
    secret: t.string({ required: true, description: 'Signing secret or shared token; write-only' }),
    header: t.string({ description: 'Header carrying the signature or token, for schemes that allow choosing it' }),
    eventKeyPath: t.string({ description: 'JSON path of the event key in the body, e.g. $.id' }),
    eventTypePath: t.string({ description: 'JSON path of the event type in the body, e.g. $.type' }),
    toleranceSeconds: t.int({ description: 'Allowed clock skew for timestamped schemes (default 300)' }),
  }),
});

const CreateIntegrationInput = builder.inputType('CreateIntegrationInput', {
  fields: (t) => ({
    provider: t.string({ required: true }),
    name: t.string({ required: true }),
    verification: t.field({ type: VerificationInput, required: true }),
    rateLimitPerMinute: t.int(),
  }),
});

const optionalPath = z
  .string()
  .trim()
  .refine(isValidJsonPath, 'must be a simple JSON path such as $.id or $.data.object.id')
  .nullish();

export const createIntegrationSchema = z.object({
  provider: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be 1-64 lower-case letters, digits, "-" or "_"'),
  name: z.string().trim().min(1).max(200),
  verification: z.object({
    scheme: z.enum(SCHEMES).refine((scheme) => SUPPORTED_SCHEMES.includes(scheme), 'this scheme is not supported yet'),
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
  }),
  rateLimitPerMinute: z.number().int().min(1).max(1_000_000).nullish(),
});

export function settingsFrom(verification: z.infer<typeof createIntegrationSchema>['verification']): VerificationSettings {
  const settings: VerificationSettings = {};
  if (verification.header) settings.header = verification.header;
  if (verification.eventKeyPath) settings.eventKeyPath = verification.eventKeyPath;
  if (verification.eventTypePath) settings.eventTypePath = verification.eventTypePath;
  if (verification.toleranceSeconds) settings.toleranceSeconds = verification.toleranceSeconds;
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
        if (!row) throw new ConflictError(`an integration for provider "${input.provider}" already exists`);
        await recordAudit(tx, ctx, {
          action: 'integration.created',
          targetType: 'integration',
          targetId: row.id,
          details: { provider: row.provider, scheme: row.scheme },
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
  previousSecretTtlSeconds: z
    .number()
    .int()
    .min(0)
    .max(30 * 86_400, 'must be at most 30 days')
    .nullish()
    .transform((ttl) => ttl ?? 86_400),
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
