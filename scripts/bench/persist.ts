import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { baseChildEnv, requireServices } from './bench-env.js';
import { createBenchDatabase, type BenchDatabase } from './bench-database.js';
import { deleteConsumerGroup, prefillTopic } from './bench-kafka.js';
import {
  checkpoint,
  describeCommit,
  describeMachine,
  monotonicMicros,
  newRunId,
  postgresSessionsOf,
  postgresWriters,
  progress,
  readCpuProfile,
  ROOT,
  serviceProcesses,
  withCleanups,
  type BenchScope,
} from './bench-run.js';
import { seedIntegration, type SeededIntegration } from './bench-seed.js';
import { deleteKeysWithPrefix, deleteTopics } from './bench-services.js';
import { overridesOf, persistSettings, type PersistSettings } from './bench-settings.js';
import { benchIngressRecord } from './bench-webhooks.js';
import { startCpuMeter } from './cpu-meter.js';
import { BenchError } from './errors.js';
import type { RawPersistOptions, RawPersistResult } from './persist-raw.js';
import { checkPersistTarget, formatConsole, formatMarkdown, type HookgatePersistFigures, type PersistReport } from './persist-report.js';
import { exitWithin } from './child-exit.js';
import { peakRssBytes, startServerProcess } from './server-process.js';

/**
 * `npm run bench -- persist`: drains a topic pre-filled with N webhooks into Postgres with the
 * persist role, then writes the same rows with a bare postgres.js loop (events alone, and the
 * persist step's one statement per batch), each side into a fresh database. Everything the run creates — databases,
 * topics, consumer group, Redis keys, processes — is removed at the end, also when something fails.
 */

const PARTITIONS = 6;
const POLL_MS = 250;
// A destination that is never called: only the delivery role sends, and it does not run here.
const UNUSED_DESTINATION = 'http://127.0.0.1:9/bench-not-sent';

interface RunContext {
  scope: BenchScope;
  runId: string;
  resultsDir: string;
  settings: PersistSettings;
  startMs: number;
}

async function freshDatabase(context: RunContext, serverUrl: string): Promise<BenchDatabase> {
  const database = await createBenchDatabase(serverUrl);
  context.scope.defer(`drop database ${database.name}`, database.drop);
  return database;
}

/**
 * Stored events so far. Each batch writes one event.received audit entry per new event in the
 * events' statement, so their count is the events' count; it is read there because those rows are
 * much smaller and a 4-per-second scan of the events table would itself load the database measured.
 */
async function countStored(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from audit_entries where action = 'event.received'`;
  return row!.n;
}

async function measureHookgate(
  context: RunContext,
  options: { database: BenchDatabase; services: ReturnType<typeof requireServices>; topics: string[]; group: string; redisPrefix: string },
): Promise<{ figures: HookgatePersistFigures; pid: number; windowUs: { startUs: number; endUs: number } }> {
  const { scope, settings } = context;
  const watched = await serviceProcesses(options.services);
  const spawnedAtMs = Date.now();
  const child = startServerProcess({
    name: 'hookgate persist',
    args: ['--cpu-prof', `--cpu-prof-dir=${context.resultsDir}`, '--import', 'tsx', 'src/main.ts'],
    env: {
      ...baseChildEnv(),
      NODE_ENV: 'production',
      HOOKGATE_ROLE: 'persist',
      LOG_LEVEL: 'warn',
      DATABASE_URL: options.database.url,
      REDIS_URL: options.services.redisUrl,
      REDIS_KEY_PREFIX: options.redisPrefix,
      KAFKA_BROKERS: options.services.kafkaBrokers.join(','),
      KAFKA_TOPIC: options.topics[0]!,
      KAFKA_DLQ_TOPIC: options.topics[1]!,
      KAFKA_CONSUMER_GROUP: options.group,
      KAFKA_TOPIC_PARTITIONS: String(PARTITIONS),
      MANAGEMENT_API_KEY: randomBytes(16).toString('hex'),
    },
    cwd: ROOT,
    logFile: join(context.resultsDir, 'hookgate-persist.log'),
  });
  scope.defer(`stop ${child.name}`, () => child.stop(5_000));
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void child.exited.then((value) => (exited = value));

  progress(`hookgate: draining ${settings.events.toLocaleString('en-US')} events (persist role)`);
  const sql = postgres(options.database.url, { max: 1, onnotice: () => {} });
  let meter: Awaited<ReturnType<typeof startCpuMeter>> | undefined;
  let firstSeenUs = 0;
  let doneAtMs = 0;
  let doneUs = 0;
  try {
    const deadline = spawnedAtMs + settings.timeoutMs;
    for (;;) {
      scope.signal.throwIfAborted();
      if (exited) throw new BenchError(`hookgate exited (code ${exited.code}, signal ${exited.signal}) while draining; see ${child.logFile}`);
      const stored = await countStored(sql);
      if (stored > 0 && !meter) {
        firstSeenUs = monotonicMicros();
        meter = await startCpuMeter({
          hookgate: [child.pid],
          'Postgres sessions': postgresSessionsOf(options.database.name),
          'Postgres writers': postgresWriters,
          'Kafka broker': watched.kafka,
          Redis: watched.redis,
        });
      }
      if (stored >= settings.events) {
        doneAtMs = Date.now();
        doneUs = monotonicMicros();
        break;
      }
      if (Date.now() > deadline) throw new BenchError(`hookgate stored ${stored} of ${settings.events} events within ${settings.timeoutMs / 1000} s`);
      await sleep(POLL_MS);
    }
    const cpu = await meter!.stop();
    const peak = await peakRssBytes(child.pid);
    progress('hookgate: all events stored; stopping');
    const exit = await child.stop();

    // persisted_at is now() inside the batch's transaction: one value per transaction.
    const [batches] = await sql<{ transactions: number; median: number; mean: number; min: number; max: number; first: Date }[]>`
      select count(*)::int as transactions, percentile_disc(0.5) within group (order by n)::int as median,
             avg(n)::float8 as mean, min(n)::int as min, max(n)::int as max, min(persisted_at) as first
      from (select persisted_at, count(*) as n from events group by persisted_at) per_transaction`;
    const [rows] = await sql<HookgatePersistFigures['rows'][]>`
      select (select count(*)::int from events) as events, (select count(*)::int from audit_entries) as "auditEntries", (select count(*)::int from deliveries) as deliveries`;
    const fromFirst = (doneAtMs - batches!.first.getTime()) / 1000;
    const fromStart = (doneAtMs - spawnedAtMs) / 1000;
    const { first: _first, ...batchFigures } = batches!;
    return {
      pid: child.pid,
      windowUs: { startUs: firstSeenUs, endUs: doneUs },
      figures: {
        fromFirstRow: { seconds: fromFirst, eventsPerSecond: settings.events / fromFirst },
        fromStart: { seconds: fromStart, eventsPerSecond: settings.events / fromStart },
        batches: batchFigures,
        rows: rows!,
        peakRssBytes: peak,
        cpu,
        exit: { code: exit.code, signal: exit.signal, killed: exit.killed },
      },
    };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function measureRaw(
  context: RunContext,
  options: { mode: RawPersistOptions['mode']; serverUrl: string; seeded: SeededIntegration; batchSize: number },
): Promise<RawPersistResult> {
  const database = await freshDatabase(context, options.serverUrl);
  await seedIntegration(database.url, {
    destinationUrl: UNUSED_DESTINATION,
    integrationId: options.seeded.integrationId,
    destinationId: options.seeded.destinationId,
    destinationSecret: options.seeded.destinationSecret,
  });
  await checkpoint(database.url);
  const resultFile = join(context.resultsDir, `raw-${options.mode}.json`);
  const rawOptions: RawPersistOptions = {
    mode: options.mode,
    runId: context.runId,
    integrationId: options.seeded.integrationId,
    startMs: context.startMs,
    events: context.settings.events,
    batchSize: options.batchSize,
    resultFile,
  };
  progress(`raw ${options.mode}: inserting ${context.settings.events.toLocaleString('en-US')} events, ${options.batchSize} per batch`);
  const child = startServerProcess({
    name: `raw ${options.mode}`,
    // Profiled like the Hookgate side, so that both carry the profiler's small cost.
    args: ['--cpu-prof', `--cpu-prof-dir=${context.resultsDir}`, '--import', 'tsx', 'scripts/bench/persist-raw.ts', JSON.stringify(rawOptions)],
    env: { ...baseChildEnv(), NODE_ENV: 'production', DATABASE_URL: database.url },
    cwd: ROOT,
    logFile: join(context.resultsDir, `raw-${options.mode}.log`),
  });
  context.scope.defer(`stop ${child.name}`, () => child.stop(5_000));
  await exitWithin(child, context.settings.timeoutMs, context.scope.signal);
  await database.drop();
  return JSON.parse(await readFile(resultFile, 'utf8')) as RawPersistResult;
}

export async function runPersistBench(): Promise<void> {
  const services = requireServices();
  const settings = persistSettings();
  const runId = newRunId();
  const resultsDir = join(ROOT, 'bench-results', runId);
  await mkdir(resultsDir, { recursive: true });

  await withCleanups(async (scope) => {
    const context: RunContext = { scope, runId, resultsDir, settings, startMs: Date.now() };
    progress(`run ${runId}; results in ${resultsDir.slice(ROOT.length)}`);
    const machine = await describeMachine(services);
    // Read before any child starts: src/ may change while a run goes on.
    const commit = describeCommit();
    const database = await freshDatabase(context, services.postgresUrl);
    const seeded = await seedIntegration(database.url, { destinationUrl: UNUSED_DESTINATION });

    const topics = [`hookgate.bench.${runId}`, `hookgate.bench.${runId}.dlq`];
    const group = `hookgate-bench-${runId}`;
    const redisPrefix = `hookgate-bench:${runId}:`;
    scope.defer('delete bench topics', () => deleteTopics(services.kafkaBrokers, topics));
    scope.defer('delete bench consumer group', () => deleteConsumerGroup(services.kafkaBrokers, group));
    scope.defer('delete bench Redis keys', () => deleteKeysWithPrefix(services.redisUrl, redisPrefix));

    progress(`pre-fill: producing ${settings.events.toLocaleString('en-US')} events to ${topics[0]}`);
    const prefill = await prefillTopic({
      brokers: services.kafkaBrokers,
      topic: topics[0]!,
      dlqTopic: topics[1]!,
      partitions: PARTITIONS,
      count: settings.events,
      record: (index) => benchIngressRecord({ runId, integrationId: seeded.integrationId, startMs: context.startMs, index }),
      signal: scope.signal,
      progress,
    });

    const checkpointed = await checkpoint(database.url);
    const hookgate = await measureHookgate(context, { database, services, topics, group, redisPrefix });
    const cpuProfile = await readCpuProfile(resultsDir, hookgate.pid, hookgate.windowUs);
    await database.drop();

    // The baselines write batches of the size the consumer actually committed.
    const batchSize = settings.rawBatch ?? Math.max(1, hookgate.figures.batches.median);
    const rawEvents = await measureRaw(context, { mode: 'events', serverUrl: services.postgresUrl, seeded, batchSize });
    const rawFull = await measureRaw(context, { mode: 'full', serverUrl: services.postgresUrl, seeded, batchSize });

    const rate = hookgate.figures.fromFirstRow.eventsPerSecond;
    const ratio = { eventsOnly: rate / rawEvents.eventsPerSecond, full: rate / rawFull.eventsPerSecond };
    const report: PersistReport = {
      bench: 'persist',
      runId,
      date: new Date().toISOString(),
      commit,
      command: `${overridesOf(process.env, ['BENCH_EVENTS', 'BENCH_RAW_BATCH'])}npm run bench -- persist`,
      machine,
      events: settings.events,
      bodyBytes: benchIngressRecord({ runId, integrationId: seeded.integrationId, startMs: context.startMs, index: 0 }).rawBody.length,
      partitions: PARTITIONS,
      prefill: { seconds: prefill.seconds, eventsPerSecond: settings.events / prefill.seconds, valueMiB: prefill.bytes / 2 ** 20 },
      hookgate: hookgate.figures,
      raw: { events: rawEvents, full: rawFull },
      ratio,
      target: checkPersistTarget(rate, ratio),
      checkpointed,
      cpuProfile,
    };
    const jsonFile = join(resultsDir, 'persist.json');
    await writeFile(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`\n${formatConsole(report)}\n\nJSON: ${jsonFile.slice(ROOT.length)}\n\n`);
    process.stdout.write(`---- Markdown ----\n\n${formatMarkdown(report)}\n\n------------------\n`);
  });
}
