import { and, eq, inArray, sql } from 'drizzle-orm';
import { Gauge } from 'prom-client';
import type { Database } from '../db/client.js';
import { deliveries, destinations } from '../db/schema.js';
import type { Metrics } from '../metrics.js';
import type { PartitionLag } from '../ports/event-log.js';

/**
 * Gauges read from the source of truth when Prometheus scrapes, not kept in memory: any instance
 * answers the same. The persist lag comes from the event log (committed offsets against the end),
 * the backlog and disabled destinations from the database — two small indexed queries per scrape.
 */
export function registerPipelineGauges(metrics: Metrics, sources: { db?: Database; lag?: () => Promise<PartitionLag[]> }): void {
  const registers = [metrics.registry];
  if (sources.lag) {
    const lag = sources.lag;
    const gauge = new Gauge({ name: 'hookgate_persist_lag', help: 'Records of the ingress topic not yet persisted, per partition', labelNames: ['partition'], registers });
    metrics.onScrape(async () => {
      const partitions = await lag();
      gauge.reset();
      for (const partition of partitions) gauge.set({ partition: String(partition.partition) }, Number(partition.lag));
    });
  }
  if (sources.db) {
    const db = sources.db;
    const due = new Gauge({ name: 'hookgate_delivery_due_backlog', help: 'Deliveries due now and not yet attempted (PENDING or RETRYING)', registers });
    const oldest = new Gauge({ name: 'hookgate_delivery_oldest_pending_age_seconds', help: 'Age of the oldest due delivery (0 when none)', registers });
    const disabled = new Gauge({ name: 'hookgate_destinations_disabled', help: 'Destinations disabled (by an operator, a 410, or long parking)', registers });
    metrics.onScrape(async () => {
      const [[backlog], [off]] = await Promise.all([
        db
          .select({
            count: sql<number>`count(*)::int`,
            age: sql<number | null>`extract(epoch from now() - min(${deliveries.nextAttemptAt}))::float`,
          })
          .from(deliveries)
          .where(and(inArray(deliveries.status, ['PENDING', 'RETRYING']), sql`${deliveries.nextAttemptAt} <= now()`)),
        db.select({ count: sql<number>`count(*)::int` }).from(destinations).where(eq(destinations.enabled, false)),
      ]);
      due.set(backlog?.count ?? 0);
      oldest.set(Math.max(0, backlog?.age ?? 0));
      disabled.set(off?.count ?? 0);
    });
  }
}
