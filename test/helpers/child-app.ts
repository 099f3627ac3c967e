import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_API_KEY } from './app.js';
import { freePort } from './processes.js';
import { services } from './services.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const READY_LINE = '"msg":"hookgate started"';

/**
 * The environment of one Hookgate deployment on `databaseUrl`: its own topics, consumer group and
 * Redis key prefix, so every process started with it (child or in-process) is one cluster and
 * nothing else in the run shares its state.
 */
export function hookgateEnv(databaseUrl: string, overrides: Record<string, string> = {}): Record<string, string> {
  const run = randomBytes(4).toString('hex');
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    DATABASE_URL: databaseUrl,
    REDIS_URL: services.redisUrl!,
    REDIS_KEY_PREFIX: `hookgate-fault:${run}:`,
    KAFKA_BROKERS: services.kafkaBrokers!,
    KAFKA_TOPIC: `hookgate.fault.${run}.ingress`,
    KAFKA_DLQ_TOPIC: `hookgate.fault.${run}.dlq`,
    KAFKA_CONSUMER_GROUP: `hookgate-fault-${run}`,
    KAFKA_TOPIC_PARTITIONS: '3',
    MANAGEMENT_API_KEY: TEST_API_KEY,
    ...overrides,
  };
}

export interface HookgateChild {
  pid: number;
  logFile: string;
  /** Resolves with the "hookgate started" line's fields once the child is up. */
  ready: Promise<{ ingress?: string; management?: string }>;
  /** Resolves when the child has exited, however that happened. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** The child's JSON log lines so far. */
  logLines(): Promise<Record<string, unknown>[]>;
}

/**
 * Starts Hookgate as a real process (`node --import tsx src/main.ts`), so a test can SIGKILL it
 * and nothing of it survives in the test's own process. Only what `env` says reaches it, plus
 * PATH and HOME: never the test runner's DATABASE_URL or anything else it happens to have.
 */
export async function spawnHookgate(
  env: Record<string, string>,
  options: { name?: string; logFile?: string; readyTimeoutMs?: number } = {},
): Promise<HookgateChild> {
  const name = options.name ?? 'hookgate';
  const logFile = options.logFile ?? join(tmpdir(), `hookgate-${name}-${Date.now()}-${randomBytes(3).toString('hex')}.log`);
  const log = createWriteStream(logFile);
  const childEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
    ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
    INGRESS_PORT: String(await freePort()),
    MANAGEMENT_PORT: String(await freePort()),
    METRICS_PORT: '0',
    ...env,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: REPO_ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${name}`);

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const ready = new Promise<{ ingress?: string; management?: string }>((resolve, reject) => {
    let pending = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not log "hookgate started" within ${readyTimeoutMs} ms; log: ${logFile}`)), readyTimeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.includes(READY_LINE)) {
          clearTimeout(timer);
          resolve(JSON.parse(line) as { ingress?: string; management?: string });
        }
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (code ${code}, signal ${signal}) before it was ready; log: ${logFile}`));
    });
  });
  // A rejection nobody awaited yet must not crash the runner; callers await `ready` themselves.
  ready.catch(() => {});
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  void exited.then(() => log.end());

  return {
    pid: child.pid,
    logFile,
    ready,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
    async logLines() {
      const text = await readFile(logFile, 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    },
  };
}

/** Waits for `ready`; on failure, stops the child and names its log file. */
export async function whenReady(child: HookgateChild): Promise<HookgateChild> {
  try {
    await child.ready;
    return child;
  } catch (error) {
    await child.kill('SIGKILL');
    throw error;
  }
}
