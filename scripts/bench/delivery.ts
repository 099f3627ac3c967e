import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { baseChildEnv, requireServices, type ServiceUrls } from './bench-env.js';
import { createBenchDatabase, type BenchDatabase } from './bench-database.js';
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
import { insertPendingDeliveries, seedIntegration, type SeededIntegration } from './bench-seed.js';
import { measureDeliveryLatency, startDeliveryChild } from './delivery-latency.js';
import { deleteKeysWithPrefix } from './bench-services.js';
import { deliverySettings, overridesOf, type DeliverySettings } from './bench-settings.js';
import { benchBody, benchReceivedAt } from './bench-webhooks.js';
import { exitWithin } from './child-exit.js';
import { startCpuMeter } from './cpu-meter.js';
import { checkDeliveryTarget, formatConsole, formatMarkdown, type DeliveryReport, type DeliveryRound, type HookgateDeliveryFigures } from './delivery-report.js';
import { BenchError } from './errors.js';
import type { RawSenderOptions, RawSenderResult } from './raw-sender.js';
import { freePort, peakRssBytes, startServerProcess, waitUntilAnswering, type ServerProcess } from './server-process.js';

/**
 * `npm run bench -- delivery`: M pending deliveries posted by the delivery role to a local
 * receiver, against a bare node:http loop posting the same signed bodies to the same receiver, at
 * each concurrency asked for. Everything the run creates — databases, Redis keys, processes — is
 * removed at the end, also when something fails.
 */

const POLL_MS = 250;
const READY_TIMEOUT_MS = 30_000;

interface RunContext {
  scope: BenchScope;
  runId: string;
  resultsDir: string;
  settings: DeliverySettings;
  services: ServiceUrls;
  startMs: number;
  receiver: { process: ServerProcess; url: string; statsUrl: string };
  redisPid: number[];
}

async function receivedPosts(statsUrl: string): Promise<number> {
  const response = await fetch(statsUrl, { signal: AbortSignal.timeout(5_000) });
  return ((await response.json()) as { posts: number }).posts;
}

async function measureRaw(context: RunContext, concurrency: number, seeded: SeededIntegration): Promise<RawSenderResult> {
  const resultFile = join(context.resultsDir, `raw-sender-${concurrency}.json`);
  const options: RawSenderOptions = {
    url: context.receiver.url,
    concurrency,
    count: context.settings.deliveries,
    runId: context.runId,
    integrationId: seeded.integrationId,
    startMs: context.startMs,
    secret: seeded.destinationSecret,
    receiverPid: context.receiver.process.pid,
    resultFile,
  };
  progress(`raw loop: posting ${context.settings.deliveries.toLocaleString('en-US')} webhooks, concurrency ${concurrency}`);
  const child = startServerProcess({
    name: `raw sender ${concurrency}`,
    // Profiled like the Hookgate side, so that both carry the profiler's small cost.
    args: ['--cpu-prof', `--cpu-prof-dir=${context.resultsDir}`, '--import', 'tsx', 'scripts/bench/raw-sender.ts', JSON.stringify(options)],
    env: { ...baseChildEnv(), NODE_ENV: 'production' },
    cwd: ROOT,
    logFile: join(context.resultsDir, `raw-sender-${concurrency}.log`),
  });
  context.scope.defer(`stop ${child.name}`, () => child.stop(5_000));
  await exitWithin(child, context.settings.timeoutMs, context.scope.signal);
  return JSON.parse(await readFile(resultFile, 'utf8')) as RawSenderResult;
}

type Progress = { succeeded: number; finished: number };

async function deliveryProgress(sql: postgres.Sql): Promise<Progress> {
  const [row] = await sql<Progress[]>`
    select count(*) filter (where status = 'SUCCEEDED')::int as succeeded,
           count(*) filter (where status in ('SUCCEEDED', 'FAILED', 'CANCELLED'))::int as finished
    from deliveries`;
  return row!;
}

async function commits(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<{ n: string }[]>`select xact_commit::text as n from pg_stat_database where datname = current_database()`;
  return Number(row!.n);
}

async function measureHookgate(
  context: RunContext,
  concurrency: number,
  database: BenchDatabase,
): Promise<{ figures: HookgateDeliveryFigures; pid: number; windowUs: { startUs: number; endUs: number } }> {
  const { scope, settings, services } = context;
  const redisPrefix = `hookgate-bench:${context.runId}:${concurrency}:`;
  scope.defer('delete bench Redis keys', () => deleteKeysWithPrefix(services.redisUrl, redisPrefix));
  const sql = postgres(database.url, { max: 1, onnotice: () => {} });
  try {
    const commitsBefore = await commits(sql);
    const postsBefore = await receivedPosts(context.receiver.statsUrl);
    let ownQueries = 1;
    const spawnedAtMs = Date.now();
    const child = startDeliveryChild({
      name: `hookgate delivery ${concurrency}`,
      concurrency,
      databaseUrl: database.url,
      services,
      runId: context.runId,
      redisPrefix,
      resultsDir: context.resultsDir,
      profile: true,
    });
    scope.defer(`stop ${child.name}`, () => child.stop(5_000));
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    void child.exited.then((value) => (exited = value));

    progress(`hookgate: delivering ${settings.deliveries.toLocaleString('en-US')} webhooks, concurrency ${concurrency}`);
    let meter: Awaited<ReturnType<typeof startCpuMeter>> | undefined;
    let firstSeenUs = 0;
    const deadline = spawnedAtMs + settings.timeoutMs;
    let state: Progress;
    for (;;) {
      scope.signal.throwIfAborted();
      if (exited) throw new BenchError(`hookgate exited (code ${exited.code}, signal ${exited.signal}) while delivering; see ${child.logFile}`);
      state = await deliveryProgress(sql);
      ownQueries += 1;
      if (state.finished > 0 && !meter) {
        firstSeenUs = monotonicMicros();
        meter = await startCpuMeter({
          hookgate: [child.pid],
          receiver: [context.receiver.process.pid],
          'Postgres sessions': postgresSessionsOf(database.name),
          'Postgres writers': postgresWriters,
          Redis: context.redisPid,
        });
      }
      if (state.finished >= settings.deliveries) break;
      if (Date.now() > deadline) throw new BenchError(`hookgate finished ${state.finished} of ${settings.deliveries} deliveries within ${settings.timeoutMs / 1000} s`);
      await sleep(POLL_MS);
    }
    const doneAtMs = Date.now();
    const doneUs = monotonicMicros();
    const cpu = await meter!.stop();
    const peak = await peakRssBytes(child.pid);
    progress('hookgate: every delivery finished; stopping');
    const exit = await child.stop();
    const received = (await receivedPosts(context.receiver.statsUrl)) - postsBefore;

    const [attempts] = await sql<{ count: number; non2xx: number; p50: number; p99: number; max: number; first: Date }[]>`
      select count(*)::int as count, count(*) filter (where status_code is null or status_code not between 200 and 299)::int as non2xx,
             percentile_disc(0.5) within group (order by duration_ms) as p50, percentile_disc(0.99) within group (order by duration_ms) as p99,
             max(duration_ms) as max, min(started_at) as first
      from delivery_attempts`;
    const [last] = await sql<{ at: Date }[]>`select max(completed_at) as at from deliveries`;
    // The backends have exited, so their counts are flushed; our own polls are taken off.
    const transactions = (await commits(sql)) - commitsBefore - ownQueries;
    const fromFirst = (last!.at.getTime() - attempts!.first.getTime()) / 1000;
    const fromStart = (doneAtMs - spawnedAtMs) / 1000;
    return {
      pid: child.pid,
      windowUs: { startUs: firstSeenUs, endUs: doneUs },
      figures: {
        fromFirstAttempt: { seconds: fromFirst, deliveriesPerSecond: state.succeeded / fromFirst },
        fromStart: { seconds: fromStart, deliveriesPerSecond: state.succeeded / fromStart },
        succeeded: state.succeeded,
        attempts: attempts!.count,
        non2xxAttempts: attempts!.non2xx,
        receivedByReceiver: received,
        durationMs: { p50: attempts!.p50, p99: attempts!.p99, max: attempts!.max },
        transactionsPerDelivery: transactions > 0 ? transactions / settings.deliveries : null,
        peakRssBytes: peak,
        cpu,
        exit: { code: exit.code, signal: exit.signal, killed: exit.killed },
      },
    };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function runRound(context: RunContext, concurrency: number): Promise<DeliveryRound> {
  const database = await createBenchDatabase(context.services.postgresUrl);
  context.scope.defer(`drop database ${database.name}`, database.drop);
  const seeded = await seedIntegration(database.url, { destinationUrl: context.receiver.url });
  progress(`seeding ${context.settings.deliveries.toLocaleString('en-US')} events with a PENDING delivery each`);
  await insertPendingDeliveries(database.url, { runId: context.runId, seeded, startMs: context.startMs, count: context.settings.deliveries });

  const raw = await measureRaw(context, concurrency, seeded);
  await checkpoint(database.url);
  const hookgate = await measureHookgate(context, concurrency, database);
  const cpuProfile = await readCpuProfile(context.resultsDir, hookgate.pid, hookgate.windowUs);
  await database.drop();
  return { concurrency, raw, hookgate: hookgate.figures, ...checkDeliveryTarget(hookgate.figures, raw, context.settings.deliveries), cpuProfile };
}

export async function runDeliveryBench(): Promise<void> {
  const services = requireServices();
  const settings = deliverySettings();
  const runId = newRunId();
  const resultsDir = join(ROOT, 'bench-results', runId);
  await mkdir(resultsDir, { recursive: true });

  await withCleanups(async (scope) => {
    progress(`run ${runId}; results in ${resultsDir.slice(ROOT.length)}`);
    const machine = await describeMachine(services);
    // Read before any child starts: src/ may change while a run goes on.
    const commit = describeCommit();
    const watched = await serviceProcesses(services);
    const port = await freePort();
    const receiverProcess = startServerProcess({
      name: 'receiver',
      args: ['--import', 'tsx', 'scripts/bench/receiver.ts', String(port)],
      env: { ...baseChildEnv(), NODE_ENV: 'production' },
      cwd: ROOT,
      logFile: join(resultsDir, 'receiver.log'),
    });
    scope.defer('stop receiver', () => receiverProcess.stop(5_000));
    const statsUrl = `http://127.0.0.1:${port}/stats`;
    await waitUntilAnswering(receiverProcess, statsUrl, { status: 200, timeoutMs: READY_TIMEOUT_MS });

    const context: RunContext = {
      scope,
      runId,
      resultsDir,
      settings,
      services,
      startMs: Date.now(),
      receiver: { process: receiverProcess, url: `http://127.0.0.1:${port}/hooks/bench`, statsUrl },
      redisPid: watched.redis,
    };
    const checkpointed = await checkpoint(services.postgresUrl);
    const rounds: DeliveryRound[] = [];
    for (const concurrency of settings.concurrencies) rounds.push(await runRound(context, concurrency));
    const latency =
      settings.latencySeconds > 0
        ? await measureDeliveryLatency({
            scope,
            services,
            runId,
            resultsDir,
            receiverUrl: context.receiver.url,
            concurrency: settings.concurrencies[0]!,
            ratePerSecond: settings.latencyRate,
            seconds: settings.latencySeconds,
            startMs: context.startMs,
          })
        : undefined;

    const report: DeliveryReport = {
      bench: 'delivery',
      runId,
      date: new Date().toISOString(),
      commit,
      command: `${overridesOf(process.env, ['BENCH_DELIVERIES', 'BENCH_DELIVERY_CONCURRENCY'])}npm run bench -- delivery`,
      machine,
      deliveries: settings.deliveries,
      bodyBytes: benchBody(runId, 0, benchReceivedAt(context.startMs, 0)).length,
      rounds,
      ...(latency ? { latency } : {}),
      checkpointed,
    };
    const jsonFile = join(resultsDir, 'delivery.json');
    await writeFile(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`\n${formatConsole(report)}\n\nJSON: ${jsonFile.slice(ROOT.length)}\n\n`);
    process.stdout.write(`---- Markdown ----\n\n${formatMarkdown(report)}\n\n------------------\n`);
    if (latency) {
      const { storedToDelivered: d, storedToStarted: w } = latency;
      process.stdout.write(
        `latency at ${latency.ratePerSecond}/s for ${latency.seconds} s (${latency.succeeded}/${latency.deliveries} succeeded, feed lag max ${latency.feedLagMaxMs} ms): ` +
          `stored→delivered p50 ${d.p50} / p90 ${d.p90} / p99 ${d.p99} / max ${d.max} ms (target p99 < 100 ms); stored→POST started p50 ${w.p50} / p99 ${w.p99} ms\n`,
      );
    }
  });
}
