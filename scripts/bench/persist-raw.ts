import { writeFile } from 'node:fs/promises';
import postgres from 'postgres';
import { z } from 'zod';
import { loadDatabaseUrl } from '../../src/config.js';
import { benchIngressRecord, eventRowOf, type EventRow } from './bench-webhooks.js';
import { postgresWriters } from './bench-run.js';
import { startCpuMeter, type CpuShares } from './cpu-meter.js';
import { peakRssBytes } from './server-process.js';

/**
 * The persist bench's baseline: the same rows Hookgate stores, written by a bare postgres.js loop,
 * one batch after another as the consumer does (kafkajs hands it one partition's batch at a time).
 *   events — one multi-row INSERT per batch (autocommit), nothing else;
 *   full   — per batch the transaction persistBatch runs: events (on conflict do nothing,
 *            returning), the destinations lookup, processing_jobs, audit_entries, deliveries.
 * No Kafka, no Redis, no drizzle. Rows are built before the clock starts.
 * Usage: DATABASE_URL=… node --import tsx scripts/bench/persist-raw.ts '<options JSON>'
 */

export const rawPersistOptions = z.object({
  mode: z.enum(['events', 'full']),
  runId: z.string().min(1),
  integrationId: z.uuid(),
  startMs: z.number().int(),
  events: z.number().int().positive(),
  batchSize: z.number().int().positive().max(5000),
  resultFile: z.string().min(1),
});
export type RawPersistOptions = z.infer<typeof rawPersistOptions>;

export interface RawPersistResult {
  mode: RawPersistOptions['mode'];
  events: number;
  batchSize: number;
  transactions: number;
  seconds: number;
  eventsPerSecond: number;
  peakRssBytes: number | null;
  cpu: CpuShares;
}

function eventRow(options: RawPersistOptions, index: number): EventRow {
  const record = benchIngressRecord({ runId: options.runId, integrationId: options.integrationId, startMs: options.startMs, index });
  // Six partitions, offsets in each, as the consumer would see them.
  return eventRowOf(record, index % 6, Math.floor(index / 6));
}

async function insertEventsOnly(sql: postgres.Sql, rows: EventRow[]): Promise<void> {
  await sql`insert into events ${sql(rows)}`;
}

async function insertLikePersistBatch(sql: postgres.Sql, rows: EventRow[]): Promise<void> {
  await sql.begin(async (tx) => {
    const stored = await tx<{ id: string; integration_id: string; event_key: string; ordering_key: string | null; provider: string }[]>`
      insert into events ${tx(rows)} on conflict do nothing
      returning id, integration_id, event_key, ordering_key, provider`;
    if (stored.length === 0) return;
    const integrationIds = [...new Set(stored.map((row) => row.integration_id))];
    const targets = await tx<{ id: string; integration_id: string; ordered: boolean }[]>`
      select id, integration_id, ordered from destinations where integration_id in ${tx(integrationIds)} and enabled`;
    const byId = new Map(rows.map((row) => [row.id, row]));
    await tx`insert into processing_jobs ${tx(stored.map((row) => ({ event_id: row.id, kind: 'persist', status: 'COMPLETED', completed_at: new Date() })))}`;
    await tx`insert into audit_entries ${tx(
      stored.map((row) => {
        const source = byId.get(row.id)!;
        return {
          actor: 'system:persist',
          action: 'event.received',
          target_type: 'event',
          target_id: row.id,
          source_ip: source.source_ip,
          details: { provider: row.provider, eventKey: row.event_key, partition: source.kafka_partition, offset: source.kafka_offset },
        };
      }),
    )}`;
    const pending = stored.flatMap((row) =>
      targets
        .filter((target) => target.integration_id === row.integration_id)
        .map((target) => ({
          event_id: row.id,
          destination_id: target.id,
          integration_id: row.integration_id,
          ordering_key: target.ordered ? (row.ordering_key ?? row.event_key) : null,
        })),
    );
    if (pending.length > 0) await tx`insert into deliveries ${tx(pending)} on conflict do nothing returning id`;
  });
}

async function main(): Promise<void> {
  const options = rawPersistOptions.parse(JSON.parse(process.argv[2] ?? '{}'));
  const rows = Array.from({ length: options.events }, (_, index) => eventRow(options, index));
  const sql = postgres(loadDatabaseUrl(), { max: 1, onnotice: () => {}, connection: { application_name: 'hookgate-bench-raw' } });
  try {
    const [session] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
    const insert = options.mode === 'events' ? insertEventsOnly : insertLikePersistBatch;
    const meter = await startCpuMeter({ 'Postgres session': [session!.pid], 'Postgres writers': postgresWriters });
    const started = performance.now();
    let transactions = 0;
    for (let from = 0; from < rows.length; from += options.batchSize) {
      await insert(sql, rows.slice(from, from + options.batchSize));
      transactions += 1;
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = await meter.stop();
    const result: RawPersistResult = {
      mode: options.mode,
      events: rows.length,
      batchSize: options.batchSize,
      transactions,
      seconds,
      eventsPerSecond: rows.length / seconds,
      peakRssBytes: await peakRssBytes(process.pid),
      cpu,
    };
    await writeFile(options.resultFile, `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

await main();
