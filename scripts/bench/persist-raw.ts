import { writeFile } from 'node:fs/promises';
import postgres from 'postgres';
import { z } from 'zod';
import { loadDatabaseUrl } from '../../src/config.js';
import { PERSIST_STATEMENT } from '../../src/db/persist-statement.js';
import { benchIngressRecord, eventRowOf, type EventRow } from './bench-webhooks.js';
import { postgresWriters } from './bench-run.js';
import { startCpuMeter, type CpuShares } from './cpu-meter.js';
import { peakRssBytes } from './server-process.js';

/**
 * The persist bench's baseline: the same rows Hookgate stores, written by a bare postgres.js loop,
 * one batch after another as the consumer does (kafkajs hands it one partition's batch at a time).
 *   events — one multi-row INSERT per batch (autocommit), nothing else;
 *   full   — per batch the one statement persistBatch runs (PERSIST_STATEMENT): events (on
 *            conflict do nothing), their event.received audit entries and deliveries.
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

/** The persist step's own statement, with the arrays persistBatch builds, but no Kafka, Redis or consumer around it. */
async function insertLikePersistBatch(sql: postgres.Sql, rows: EventRow[]): Promise<void> {
  await sql.unsafe(
    PERSIST_STATEMENT,
    [
      rows.map((row) => row.id),
      rows.map((row) => row.integration_id),
      rows.map((row) => row.provider),
      rows.map((row) => row.event_key),
      rows.map((row) => row.event_type),
      rows.map((row) => row.ordering_key),
      `{${rows.map((row) => `"\\\\x${row.raw_body.toString('hex')}"`).join(',')}}`,
      rows.map((row) => JSON.stringify(row.headers)),
      `{${rows.map(() => 't').join(',')}}`,
      rows.map((row) => row.source_ip),
      rows.map((row) => row.received_at.toISOString()),
      rows.map((row) => row.kafka_partition),
      rows.map((row) => row.kafka_offset),
    ] as postgres.ParameterOrJSON<never>[],
    { prepare: true },
  );
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
