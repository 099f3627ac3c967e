/**
 * Readiness checks for Hookgate's local services, using the project's own clients.
 * Called by scripts/services.sh; all human output goes to stderr.
 *
 *   tsx scripts/services-check.ts kafka [--brokers H:P] [--wait SECONDS] [--pid PID]
 *     One metadata round-trip (kafkajs admin describeCluster). With --wait, polls until
 *     the broker answers or the bound passes; with --pid, gives up as soon as that
 *     process is gone. Exit 0 ready, 1 not ready (timeout), 2 process exited.
 *
 *   tsx scripts/services-check.ts deps
 *     Checks Postgres (PG_ADMIN_URL, default postgres://postgres@127.0.0.1:5432/postgres)
 *     and Redis (REDIS_URL, default redis://127.0.0.1:6379), creates the databases
 *     hookgate and hookgate_test if absent. On success prints NAME=value lines on stdout
 *     (DATABASE_URL, TEST_DATABASE_URL, REDIS_URL). On failure prints exactly one line
 *     per unreachable service on stderr and exits 1.
 */
import { Kafka, logLevel } from 'kafkajs';
import postgres from 'postgres';
import { Redis } from 'ioredis';

const DEFAULT_PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const DATABASES = ['hookgate', 'hookgate_test'] as const;

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
]);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function errCode(err: unknown): string | undefined {
  if (err instanceof AggregateError && err.errors.length > 0) return errCode(err.errors[0]);
  if (err && typeof err === 'object' && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

function errMessage(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return errMessage(err.errors[0]);
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\s+/g, ' ').trim();
}

function isUnreachable(err: unknown): boolean {
  const code = errCode(err);
  if (code && UNREACHABLE_CODES.has(code)) return true;
  return /ECONNREFUSED|connect ETIMEDOUT|Connection is closed|timed? ?out/i.test(errMessage(err));
}

function hostPort(url: URL, defaultPort: number): string {
  return `${url.hostname || '127.0.0.1'}:${url.port || defaultPort}`;
}

function parseArgs(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a?.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) out.set(a.slice(2, eq), a.slice(eq + 1));
      else out.set(a.slice(2), argv[++i] ?? '');
    }
  }
  return out;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errCode(err) === 'EPERM';
  }
}

// ---------------------------------------------------------------- kafka

async function kafkaAnswers(brokers: string[]): Promise<boolean> {
  const kafka = new Kafka({
    clientId: 'hookgate-services-check',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 2000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    // A KRaft broker may accept connections before it has registered/unfenced itself;
    // only call it ready once the metadata lists a broker and a controller.
    return cluster.brokers.length > 0 && cluster.controller !== null && cluster.controller >= 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function checkKafka(args: Map<string, string>): Promise<number> {
  const brokers = (args.get('brokers') || process.env.KAFKA_BROKERS || '127.0.0.1:9092')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  const waitSeconds = Number(args.get('wait') ?? '0');
  const pid = args.has('pid') ? Number(args.get('pid')) : undefined;
  const deadline = Date.now() + Math.max(0, waitSeconds) * 1000;
  const intervalMs = 250;

  for (;;) {
    if (pid !== undefined && !pidAlive(pid)) return 2;
    if (await kafkaAnswers(brokers)) return 0;
    if (pid !== undefined && !pidAlive(pid)) return 2;
    if (Date.now() + intervalMs > deadline) return 1;
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------- postgres / redis

function withDatabase(adminUrl: string, db: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${db}`;
  return u.toString();
}

async function checkPostgres(): Promise<{ ok: true; env: Record<string, string> } | { ok: false; line: string }> {
  const adminUrl = process.env.PG_ADMIN_URL || DEFAULT_PG_ADMIN_URL;
  let where: string;
  try {
    where = hostPort(new URL(adminUrl), 5432);
  } catch {
    return { ok: false, line: `postgres: PG_ADMIN_URL is not a valid URL — set it like ${DEFAULT_PG_ADMIN_URL}` };
  }
  const sql = postgres(adminUrl, {
    max: 1,
    connect_timeout: 3,
    idle_timeout: 1,
    prepare: false,
    onnotice: () => undefined,
  });
  try {
    const rows = await sql<{ datname: string }[]>`
      select datname from pg_database where datname in ${sql([...DATABASES])}`;
    const present = new Set(rows.map((r) => r.datname));
    for (const db of DATABASES) {
      if (present.has(db)) continue;
      try {
        // postgres.js runs plain queries outside a transaction, as CREATE DATABASE requires.
        await sql.unsafe(`create database "${db}"`);
        process.stderr.write(`postgres: created database ${db}\n`);
      } catch (err) {
        if (errCode(err) !== '42P04') throw err; // duplicate_database: created concurrently
      }
    }
    return {
      ok: true,
      env: {
        DATABASE_URL: withDatabase(adminUrl, 'hookgate'),
        TEST_DATABASE_URL: withDatabase(adminUrl, 'hookgate_test'),
      },
    };
  } catch (err) {
    if (isUnreachable(err)) {
      return {
        ok: false,
        line: `postgres: not reachable at ${where} — start it with: pg_ctlcluster --skip-systemctl-redirect 15 main start`,
      };
    }
    return {
      ok: false,
      line: `postgres: ${where} answered but failed: ${errMessage(err)} — check PG_ADMIN_URL (needs a role allowed to CREATE DATABASE)`,
    };
  } finally {
    await sql.end({ timeout: 1 }).catch(() => undefined);
  }
}

async function checkRedis(): Promise<{ ok: true; env: Record<string, string> } | { ok: false; line: string }> {
  const url = process.env.REDIS_URL || DEFAULT_REDIS_URL;
  let where: string;
  let port: string;
  try {
    const u = new URL(url);
    where = hostPort(u, 6379);
    port = u.port || '6379';
  } catch {
    return { ok: false, line: `redis: REDIS_URL is not a valid URL — set it like ${DEFAULT_REDIS_URL}` };
  }
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    reconnectOnError: () => false,
  });
  redis.on('error', () => undefined); // reported below, not as an unhandled event
  try {
    await redis.connect();
    const pong = await redis.ping();
    if (pong !== 'PONG') throw new Error(`unexpected PING reply ${pong}`);
    return { ok: true, env: { REDIS_URL: url } };
  } catch (err) {
    if (isUnreachable(err)) {
      return {
        ok: false,
        line: `redis: not reachable at ${where} — start it with: redis-server --daemonize yes --port ${port} --save ""`,
      };
    }
    return { ok: false, line: `redis: ${where} answered but failed: ${errMessage(err)} — check REDIS_URL` };
  } finally {
    redis.disconnect();
  }
}

async function checkDeps(): Promise<number> {
  const results = await Promise.all([checkPostgres(), checkRedis()]);
  let failed = false;
  const env: Record<string, string> = {};
  for (const r of results) {
    if (r.ok) Object.assign(env, r.env);
    else {
      failed = true;
      process.stderr.write(`${r.line}\n`);
    }
  }
  if (failed) return 1;
  for (const key of ['DATABASE_URL', 'TEST_DATABASE_URL', 'REDIS_URL']) {
    process.stdout.write(`${key}=${env[key]}\n`);
  }
  return 0;
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const [cmd, ...rest] = process.argv.slice(2);
  const args = parseArgs(rest);
  switch (cmd) {
    case 'kafka':
      return checkKafka(args);
    case 'deps':
      return checkDeps();
    default:
      process.stderr.write('usage: services-check.ts kafka [--brokers H:P] [--wait S] [--pid PID] | deps\n');
      return 64;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`services-check: ${errMessage(err)}\n`);
    process.exit(70);
  },
);
