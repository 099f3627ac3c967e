import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { and, eq, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { events, type EventRow } from '../../db/schema.js';
import { builder } from '../builder.js';
import { assertPageSize, encodeCursor, keysetPage } from '../cursor.js';
import { badUserInput } from '../errors.js';

export const EventRef = builder.objectRef<EventRow>('Event').implement({
  description: 'A verified webhook, stored once.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Deterministic: UUIDv5 of integrationId:eventKey; the ingress returns it' }),
    integrationId: t.exposeID('integrationId'),
    provider: t.exposeString('provider'),
    eventKey: t.exposeString('eventKey'),
    eventType: t.exposeString('eventType', { nullable: true }),
    receivedAt: t.expose('receivedAt', { type: 'DateTime' }),
    payload: t.expose('payload', { type: 'JSON' }),
    headers: t.expose('headers', { type: 'JSON', description: 'Request headers kept with the event (never signatures or tokens)' }),
    sourceIp: t.exposeString('sourceIp', { nullable: true }),
  }),
});

const EventFilter = builder.inputType('EventFilter', {
  fields: (t) => ({
    provider: t.string(),
  }),
});

const eventFilterSchema = z
  .object({ provider: z.string().trim().min(1).max(64).nullish() })
  .nullish();

builder.queryField('events', (t) =>
  t.connection({
    type: EventRef,
    description: 'Stored events, newest first.',
    args: { filter: t.arg({ type: EventFilter }) },
    resolve: async (_root, args, ctx) => {
      assertPageSize(args);
      const filter = eventFilterSchema.safeParse(args.filter);
      if (!filter.success) throw badUserInput(filter.error, ['filter']);
      const conditions: SQL[] = [];
      if (filter.data?.provider) conditions.push(eq(events.provider, filter.data.provider));
      return resolveCursorConnection(
        { args, toCursor: (row: EventRow) => encodeCursor({ at: row.receivedAt, id: row.id }) },
        async (page: ResolveCursorConnectionArgs) => {
          const { where, orderBy } = keysetPage({ at: events.receivedAt, id: events.id }, page);
          return ctx.db
            .select()
            .from(events)
            .where(and(...conditions, ...where))
            .orderBy(...orderBy)
            .limit(page.limit);
        },
      );
    },
  }),
);
