import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { DELIVERY_WAKE_CHANNEL } from '../../src/consumers/status-events.js';
import { baseChildEnv, type ServiceUrls } from './bench-env.js';
import { createBenchDatabase } from './bench-database.js';
import { progress, ROOT, type BenchScope } from './bench-run.js';
import { seedIntegration } from './bench-seed.js';
import { deleteKeysWithPrefix } from './bench-services.js';
import { benchIngressRecord, eventRowOf } from './bench-webhooks.js';
import { BenchError } from './errors.js';
import { startServerProcess, type ServerProcess } from './server-process.js';

/** The delivery role as the bench runs it: one child process on `databaseUrl`. */
export function startDeliveryChild(options: {
  name: string;
  concurrency: number;
  databaseUrl: string;
  services: ServiceUrls;
  runId: string;
  redisPrefix: string;
  resultsDir: string;
  profile: boolean;
}): ServerProcess {
  return startServerProcess({
    name: options.name,
    args: [...(options.profile ? ['--cpu-prof', `--cpu-prof-dir=${options.resultsDir}`] : []), '--import', 'tsx', 'src/main.ts'],
    env: {
      ...baseChildEnv(),
      // Production refuses plain-http destinations; for the delivery role nothing else differs.
      NODE_ENV: 'development',
      HOOKGATE_ROLE: 'delivery',
      LOG_LEVEL: 'warn',
      DELIVERY_CONCURRENCY: String(options.concurrency),
      DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: options.services.redisUrl,
      REDIS_KEY_PREFIX: options.redisPrefix,
      // Required by the configuration; the delivery role does not use Kafka.
      KAFKA_BROKERS: options.services.kafkaBrokers.join(','),
      KAFKA_TOPIC: `hookgate.bench.${options.runId}.unused`,
      KAFKA_DLQ_TOPIC: `hookgate.bench.${options.runId}.unused.dlq`,
      MANAGEMENT_API_KEY: randomBytes(16).toString('hex'),
    },
    cwd: ROOT,
    logFile: join(options.resultsDir, `${options.name.replaceAll(' ', '-')}.log`),
  });
}

export interface LatencyFigures {
  ratePerSecond: number;
  seconds: number;
  deliveries: number;
  succeeded: number;
  /** deliveries.created_at (the store's commit) → completed_at (the attempt's record committed). */
  storedToDelivered: { p50: number; p90: number; p99: number; max: number };
  /** created_at → the attempt's started_at: how long a stored delivery waited for a worker. */
  storedToStarted: { p50: number; p99: number };
  /** How far the feed fell behind its schedule at worst (ms): a loaded bench machine shows here. */
  feedLagMaxMs: number;
}

/**
 * Stored→delivered latency at a steady rate: rows are inserted the way the persist step leaves
 * them (event + PENDING delivery, one transaction per tick) and the wake-up it publishes is
 * published after each commit, while one delivery process runs. Ticks every 50 ms.
 */
export async function measureDeliveryLatency(options: {
  scope: BenchScope;
  services: ServiceUrls;
  runId: string;
  resultsDir: string;
  receiverUrl: string;
  concurrency: number;
  ratePerSecond: number;
  seconds: number;
  startMs: number;
}): Promise<LatencyFigures> {
  const { scope, services } = options;
  const database = await createBenchDatabase(services.postgresUrl);
  scope.defer(`drop database ${database.name}`, database.drop);
  const seeded = await seedIntegration(database.url, { destinationUrl: options.receiverUrl });
  const redisPrefix = `hookgate-bench:${options.runId}:latency:`;
  scope.defer('delete bench Redis keys', () => deleteKeysWithPrefix(services.redisUrl, redisPrefix));
  const redis = new Redis(services.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  scope.defer('close bench Redis client', async () => void redis.disconnect());
  const sql = postgres(database.url, { max: 2, onnotice: () => {} });
  scope.defer('close bench database client', () => sql.end({ timeout: 5 }));

  const child = startDeliveryChild({
    name: `hookgate delivery latency`,
    concurrency: options.concurrency,
    databaseUrl: database.url,
    services,
    runId: options.runId,
    redisPrefix,
    resultsDir: options.resultsDir,
    profile: false,
  });
  scope.defer(`stop ${child.name}`, () => child.stop(5_000));

  let index = 0;
  const insertTick = async (count: number) => {
    const rows = Array.from({ length: count }, () => {
      const at = index++;
      const record = benchIngressRecord({ runId: `${options.runId}-lat`, integrationId: seeded.integrationId, startMs: options.startMs, index: at });
      return eventRowOf(record, at % 6, Math.floor(at / 6));
    });
    await sql.begin(async (tx) => {
      await tx`insert into events ${tx(rows)}`;
      await tx`insert into deliveries ${tx(rows.map((row) => ({ event_id: row.id, destination_id: seeded.destinationId, integration_id: row.integration_id })))}`;
    });
    await redis.publish(`${redisPrefix}${DELIVERY_WAKE_CHANNEL}`, '1');
  };
  const finished = async () =>
    (await sql<{ n: number }[]>`select count(*)::int as n from deliveries where status in ('SUCCEEDED', 'FAILED', 'CANCELLED')`)[0]!.n;

  // Warm-up: the process is up and has delivered once before the clock starts.
  progress('latency: waiting for the delivery process to deliver a first webhook');
  await insertTick(1);
  const readyBy = Date.now() + 60_000;
  while ((await finished()) < 1) {
    if (Date.now() > readyBy) throw new BenchError(`the delivery process delivered nothing within 60 s; see ${child.logFile}`);
    await sleep(100);
  }
  await sql`update deliveries set created_at = created_at - interval '1 hour'`;

  const tickMs = 50;
  const perTick = (options.ratePerSecond * tickMs) / 1000;
  const ticks = Math.round((options.seconds * 1000) / tickMs);
  progress(`latency: ${options.ratePerSecond} webhooks/s for ${options.seconds} s, concurrency ${options.concurrency}`);
  const started = performance.now();
  let owed = 0;
  let lagMax = 0;
  for (let tick = 0; tick < ticks; tick++) {
    scope.signal.throwIfAborted();
    const due = started + tick * tickMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    else lagMax = Math.max(lagMax, -wait);
    owed += perTick;
    const count = Math.floor(owed);
    owed -= count;
    if (count > 0) await insertTick(count);
  }
  const total = index - 1;
  const doneBy = Date.now() + 60_000;
  while ((await finished()) < total + 1) {
    if (Date.now() > doneBy) throw new BenchError(`latency phase: not every delivery finished within 60 s of the last insert; see ${child.logFile}`);
    await sleep(100);
  }
  await child.stop(10_000);

  const [figures] = await sql<{ succeeded: number; p50: number; p90: number; p99: number; max: number; s50: number; s99: number }[]>`
    with measured as (
      select d.status, extract(epoch from d.completed_at - d.created_at) * 1000 as delivered_ms,
             extract(epoch from a.started_at - d.created_at) * 1000 as started_ms
      from deliveries d join delivery_attempts a on a.delivery_id = d.id and a.attempt_number = 1
      where d.created_at > now() - interval '30 minutes'
    )
    select count(*) filter (where status = 'SUCCEEDED')::int as succeeded,
           percentile_cont(0.5) within group (order by delivered_ms) as p50,
           percentile_cont(0.9) within group (order by delivered_ms) as p90,
           percentile_cont(0.99) within group (order by delivered_ms) as p99,
           max(delivered_ms) as max,
           percentile_cont(0.5) within group (order by started_ms) as s50,
           percentile_cont(0.99) within group (order by started_ms) as s99
    from measured`;
  await sql.end({ timeout: 5 });
  await database.drop();
  const round = (value: number) => Math.round(value * 10) / 10;
  return {
    ratePerSecond: options.ratePerSecond,
    seconds: options.seconds,
    deliveries: total,
    succeeded: figures!.succeeded,
    storedToDelivered: { p50: round(figures!.p50), p90: round(figures!.p90), p99: round(figures!.p99), max: round(figures!.max) },
    storedToStarted: { p50: round(figures!.s50), p99: round(figures!.s99) },
    feedLagMaxMs: Math.round(lagMax),
  };
}
