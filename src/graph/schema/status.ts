import { and, eq, inArray, sql } from 'drizzle-orm';
import { auditEntries, deliveries } from '../../db/schema.js';
import type { PartitionLag } from '../../ports/event-log.js';
import { builder } from '../builder.js';
import { DeliveryStatusEnum } from './delivery.js';

const StatusCountRef = builder.objectRef<{ status: string; count: number }>('DeliveryStatusCount').implement({
  fields: (t) => ({
    status: t.field({ type: DeliveryStatusEnum, resolve: (row) => row.status as 'PENDING' }),
    count: t.exposeInt('count'),
  }),
});

const PartitionLagRef = builder.objectRef<PartitionLag>('PartitionLag').implement({
  description: 'How far the persist consumers trail one partition of the ingress topic.',
  fields: (t) => ({
    partition: t.exposeInt('partition'),
    committedOffset: t.exposeString('committedOffset', { nullable: true }),
    endOffset: t.exposeString('endOffset'),
    lag: t.exposeString('lag', { description: 'Messages not yet stored (a string: offsets are 64-bit)' }),
  }),
});

interface ProcessingStatus {
  deliveriesByStatus: { status: string; count: number }[];
  oldestPendingDeliveryAgeSeconds: number | null;
  deadLetteredCount: number;
}

const ProcessingStatusRef = builder.objectRef<ProcessingStatus>('ProcessingStatus').implement({
  fields: (t) => ({
    deliveriesByStatus: t.field({ type: [StatusCountRef], resolve: (s) => s.deliveriesByStatus }),
    oldestPendingDeliveryAgeSeconds: t.float({
      nullable: true,
      description: 'Age of the oldest delivery that is due and not yet delivered',
      resolve: (s) => s.oldestPendingDeliveryAgeSeconds,
    }),
    persistLag: t.field({
      type: [PartitionLagRef],
      nullable: true,
      description: 'Null when the event log cannot be asked right now',
      resolve: (_s, _args, ctx) => ctx.consumerLag().catch(() => null),
    }),
    deadLetteredCount: t.exposeInt('deadLetteredCount'),
  }),
});

builder.queryField('processingStatus', (t) =>
  t.field({
    type: ProcessingStatusRef,
    description: 'The pipeline at a glance, for operators in an incident.',
    resolve: async (_root, _args, ctx) => {
      const [byStatus, [oldest], [dead]] = await Promise.all([
        ctx.db
          .select({ status: deliveries.status, count: sql<number>`count(*)::int` })
          .from(deliveries)
          .groupBy(deliveries.status),
        ctx.db
          .select({ age: sql<number | null>`extract(epoch from now() - min(${deliveries.nextAttemptAt}))::float` })
          .from(deliveries)
          .where(and(inArray(deliveries.status, ['PENDING', 'RETRYING']), sql`${deliveries.nextAttemptAt} <= now()`)),
        ctx.db
          .select({ count: sql<number>`count(*)::int` })
          .from(auditEntries)
          .where(eq(auditEntries.action, 'event.dead_lettered')),
      ]);
      return {
        deliveriesByStatus: byStatus,
        oldestPendingDeliveryAgeSeconds: oldest?.age ?? null,
        deadLetteredCount: dead?.count ?? 0,
      };
    },
  }),
);
