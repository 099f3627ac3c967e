import { and, eq, gte, lt, type SQL, getTableColumns } from 'drizzle-orm';
import { z } from 'zod';
import { auditEntries, type AuditEntry } from '../../db/schema.js';
import { builder } from '../builder.js';
import { keysetConnection } from '../cursor.js';
import { badUserInput } from '../errors.js';
import { EventRef } from './event.js';

export const AuditEntryRef = builder.objectRef<AuditEntry>('AuditEntry').implement({
  description: 'Who did what, when. Append-only: the database refuses to change or delete these.',
  fields: (t) => ({
    id: t.exposeID('id'),
    at: t.expose('at', { type: 'DateTime' }),
    actor: t.exposeString('actor', { description: 'A management key id (key:<hash prefix>) or a system component' }),
    action: t.exposeString('action'),
    targetType: t.exposeString('targetType'),
    targetId: t.exposeString('targetId', { nullable: true }),
    requestId: t.exposeString('requestId', { nullable: true }),
    sourceIp: t.exposeString('sourceIp', { nullable: true }),
    details: t.expose('details', { type: 'JSON' }),
  }),
});

builder.objectField(EventRef, 'auditEntries', (t) =>
  t.field({
    type: [AuditEntryRef],
    resolve: (event, _args, ctx) => ctx.loaders.auditOfEvent.load(event.id),
  }),
);

const AuditEntryFilter = builder.inputType('AuditEntryFilter', {
  fields: (t) => ({
    action: t.string(),
    actor: t.string(),
    targetType: t.string(),
    targetId: t.string(),
    since: t.field({ type: 'DateTime', description: 'Inclusive' }),
    until: t.field({ type: 'DateTime', description: 'Exclusive' }),
  }),
});

const auditFilterSchema = z
  .object({
    action: z.string().min(1).max(100).nullish(),
    actor: z.string().min(1).max(200).nullish(),
    targetType: z.string().min(1).max(100).nullish(),
    targetId: z.string().min(1).max(200).nullish(),
    since: z.date().nullish(),
    until: z.date().nullish(),
  })
  .refine((f) => !f.since || !f.until || f.since < f.until, { message: 'since must be earlier than until', path: ['since'] })
  .refine((f) => !f.targetId || f.targetType, { message: 'targetId needs targetType', path: ['targetId'] })
  .nullish();

builder.queryField('auditEntries', (t) =>
  t.connection({
    type: AuditEntryRef,
    description: 'The audit trail, newest first.',
    args: { filter: t.arg({ type: AuditEntryFilter }) },
    resolve: async (_root, args, ctx) => {
      const parsed = auditFilterSchema.safeParse(args.filter);
      if (!parsed.success) throw badUserInput(parsed.error, ['filter']);
      const filter = parsed.data;
      const conditions: SQL[] = [];
      if (filter?.action) conditions.push(eq(auditEntries.action, filter.action));
      if (filter?.actor) conditions.push(eq(auditEntries.actor, filter.actor));
      if (filter?.targetType) conditions.push(eq(auditEntries.targetType, filter.targetType));
      if (filter?.targetId) conditions.push(eq(auditEntries.targetId, filter.targetId));
      if (filter?.since) conditions.push(gte(auditEntries.at, filter.since));
      if (filter?.until) conditions.push(lt(auditEntries.at, filter.until));
      return keysetConnection(args, { at: auditEntries.at, id: auditEntries.id }, ({ where, orderBy, limit, keysetAt }) =>
        ctx.db
          .select({ ...getTableColumns(auditEntries), keysetAt })
          .from(auditEntries)
          .where(and(...conditions, ...where))
          .orderBy(...orderBy)
          .limit(limit),
      );
    },
  }),
);
