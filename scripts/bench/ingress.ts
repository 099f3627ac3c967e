import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { integrations } from '../../src/db/schema.js';
import { baseChildEnv, ingressVariant, installBenchKeyring, loadSettings, requireServices, type ServiceUrls } from './bench-env.js';
import { createBenchDatabase, postgresVersion } from './bench-database.js';
import { BenchError } from './errors.js';
import { describeCommit, newRunId, progress, readCpuProfile, ROOT } from './bench-run.js';
import { checkKafka, deleteKeysWithPrefix, deleteTopics, redisServerPid, redisVersion } from './bench-services.js';
import { checkIngressTarget, formatConsole, formatMarkdown, type IngressReport, type MachineInfo } from './ingress-report.js';
import { createSignedWebhookRequests } from './load.js';
import { measureServer } from './measure.js';
import { findProcesses, freePort, startServerProcess, waitUntilAnswering, type ServerProcess } from './server-process.js';

/**
 * `npm run bench -- ingress`: the ingress role against a bare node:http server, same load, same
 * run. Everything it creates — database, topics, Redis keys, processes — is its own and is
 * removed at the end, also when something fails.
 */

const WEBHOOK_PATH = '/api/v1/webhooks/acme';
const READY_TIMEOUT_MS = 60_000;

async function insertAcmeIntegration(databaseUrl: string, secret: string): Promise<void> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    // A limit no load here can reach: the limiter still takes its blocks from Redis.
    await drizzle(sql)
      .insert(integrations)
      .values({ provider: 'acme', name: 'Acme (bench)', scheme: 'HMAC_SHA256', secret, rateLimitPerMinute: 100_000_000 });
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** The local Kafka broker and Redis server, to see what each load costs them (nothing else is done to them). */
async function serviceProcesses(services: ServiceUrls): Promise<Record<string, number[]>> {
  const found: Record<string, number[]> = {};
  const brokers = await findProcesses((commandLine) => /\bkafka\.Kafka\b/.test(commandLine)).catch(() => []);
  if (brokers.length > 0) found['Kafka broker'] = brokers;
  const redis = await redisServerPid(services.redisUrl).catch(() => null);
  if (redis !== null) found['Redis'] = [redis];
  return found;
}

/** Asks each service for its version, which also checks that it answers before anything is created. */
async function describeMachine(services: ServiceUrls): Promise<MachineInfo> {
  const ask = async <T>(service: string, question: () => Promise<T>): Promise<T> => {
    try {
      return await question();
    } catch (error) {
      throw new BenchError(`${service} does not answer (${(error as Error).message}); is \`npm run services:up\` running?`);
    }
  };
  await ask(`Kafka at ${services.kafkaBrokers.join(',')}`, () => checkKafka(services.kafkaBrokers));
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  return {
    cpus: availableParallelism(),
    cpuModel,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    postgres: await ask('Postgres', () => postgresVersion(services.postgresUrl)),
    redis: await ask('Redis', () => redisVersion(services.redisUrl)),
    kafkaBrokers: services.kafkaBrokers,
    loadAverageAtStart: loadavg(),
  };
}

export async function runIngressBench(): Promise<void> {
  const services = requireServices();
  const load = loadSettings();
  const variant = ingressVariant();
  const runId = newRunId();
  const resultsDir = join(ROOT, 'bench-results', runId);
  const topics = [`hookgate.bench.${runId}`, `hookgate.bench.${runId}.dlq`];
  const redisPrefix = `hookgate-bench:${runId}:`;

  // Undone in reverse order, each step on its own, whatever happened before.
  const cleanups: { name: string; run: () => Promise<unknown> }[] = [];
  const aborter = new AbortController();
  const onSignal = () => aborter.abort(new BenchError('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = (server: ServerProcess) => {
    cleanups.push({ name: `stop ${server.name}`, run: () => server.stop(5_000) });
    return server;
  };

  try {
    const machine = await describeMachine(services);
    await mkdir(resultsDir, { recursive: true });
    progress(`run ${runId}; results in ${resultsDir.slice(ROOT.length)}`);
    const watched = await serviceProcesses(services);
    const database = await createBenchDatabase(services.postgresUrl);
    cleanups.push({ name: `drop database ${database.name}`, run: database.drop });
    const secret = randomBytes(24).toString('hex');
    installBenchKeyring();
    await insertAcmeIntegration(database.url, secret);
    const requests = createSignedWebhookRequests({ runId, secret });
    const childEnv = baseChildEnv();

    const barePort = await freePort();
    const bareServer = started(
      startServerProcess({
        name: 'bare server',
        args: ['--cpu-prof', `--cpu-prof-dir=${resultsDir}`, '--import', 'tsx', 'scripts/bench/bare-server.ts', String(barePort)],
        env: { ...childEnv, NODE_ENV: 'production' },
        cwd: ROOT,
        logFile: join(resultsDir, 'bare.log'),
      }),
    );
    await waitUntilAnswering(bareServer, `http://127.0.0.1:${barePort}/`, { status: 202, timeoutMs: READY_TIMEOUT_MS });
    const bare = await measureServer({
      label: 'bare node:http',
      server: bareServer,
      url: `http://127.0.0.1:${barePort}${WEBHOOK_PATH}`,
      load,
      setupRequest: requests.setupRequest,
      signal: aborter.signal,
      progress,
      services: watched,
    });

    cleanups.push({ name: 'delete bench topics', run: () => deleteTopics(services.kafkaBrokers, topics) });
    cleanups.push({ name: 'delete bench Redis keys', run: () => deleteKeysWithPrefix(services.redisUrl, redisPrefix) });
    const [ingressPort, managementPort] = [await freePort(), await freePort()];
    // What production runs: the compiled JavaScript, without tsx's loader hooks in the process.
    progress('hookgate: compiling src/ to dist/ (tsc)');
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
    const hookgateServer = started(
      startServerProcess({
        name: 'hookgate',
        args: ['--cpu-prof', `--cpu-prof-dir=${resultsDir}`, ...variant.nodeFlags, 'dist/main.js'],
        env: {
          ...childEnv,
          NODE_ENV: 'production',
          HOOKGATE_ROLE: 'ingress',
          LOG_LEVEL: 'warn',
          INGRESS_PORT: String(ingressPort),
          MANAGEMENT_PORT: String(managementPort),
          DATABASE_URL: database.url,
          REDIS_URL: services.redisUrl,
          REDIS_KEY_PREFIX: redisPrefix,
          KAFKA_BROKERS: services.kafkaBrokers.join(','),
          KAFKA_TOPIC: topics[0]!,
          KAFKA_DLQ_TOPIC: topics[1]!,
          KAFKA_TOPIC_PARTITIONS: '6',
          ...(variant.workers ? { INGRESS_WORKERS: String(variant.workers), METRICS_PORT: '0' } : {}),
          ...(variant.lingerMs !== undefined ? { INGRESS_BATCH_LINGER_MS: String(variant.lingerMs) } : {}),
          MANAGEMENT_API_KEY: randomBytes(16).toString('hex'),
        },
        cwd: ROOT,
        logFile: join(resultsDir, 'hookgate.log'),
      }),
    );
    progress('hookgate: starting (ingress role)');
    await waitUntilAnswering(hookgateServer, `http://127.0.0.1:${ingressPort}/api/v1/health`, { status: 200, timeoutMs: READY_TIMEOUT_MS });
    const hookgate = await measureServer({
      label: 'hookgate ingress',
      server: hookgateServer,
      url: `http://127.0.0.1:${ingressPort}${WEBHOOK_PATH}`,
      load,
      setupRequest: requests.setupRequest,
      signal: aborter.signal,
      progress,
      services: watched,
    });

    const ratio = bare.figures.acceptedPerSecond > 0 ? hookgate.figures.acceptedPerSecond / bare.figures.acceptedPerSecond : 0;
    const defaults = loadSettings({});
    const overrides = [
      load.connections !== defaults.connections ? `BENCH_CONNECTIONS=${load.connections} ` : '',
      load.warmupSeconds !== defaults.warmupSeconds ? `BENCH_WARMUP_S=${load.warmupSeconds} ` : '',
      load.durationSeconds !== defaults.durationSeconds ? `BENCH_DURATION_S=${load.durationSeconds} ` : '',
      variant.nodeFlags.length > 0 ? `BENCH_NODE_FLAGS='${variant.nodeFlags.join(' ')}' ` : '',
      variant.workers ? `BENCH_INGRESS_WORKERS=${variant.workers} ` : '',
      variant.lingerMs !== undefined ? `BENCH_BATCH_LINGER_MS=${variant.lingerMs} ` : '',
    ].join('');
    const report: IngressReport = {
      bench: 'ingress',
      runId,
      date: new Date().toISOString(),
      commit: describeCommit(),
      command: `${overrides}npm run bench -- ingress`,
      load: { ...load, bodyBytes: requests.bodyBytes, path: WEBHOOK_PATH },
      machine,
      bare: bare.figures,
      hookgate: hookgate.figures,
      ratio,
      target: checkIngressTarget(hookgate.figures, ratio),
      cpuProfile: {
        hookgate: await readCpuProfile(resultsDir, hookgateServer.pid, hookgate.windowUs),
        bare: await readCpuProfile(resultsDir, bareServer.pid, bare.windowUs),
      },
    };
    const jsonFile = join(resultsDir, 'ingress.json');
    await writeFile(jsonFile, `${JSON.stringify(report, null, 2)}\n`);

    process.stdout.write(`\n${formatConsole(report)}\n\nJSON: ${jsonFile.slice(ROOT.length)}\n\n`);
    process.stdout.write(`---- Markdown ----\n\n${formatMarkdown(report)}\n\n------------------\n`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup.run();
      } catch (error) {
        progress(`cleanup "${cleanup.name}" failed: ${(error as Error).message}`);
      }
    }
  }
}
