import { randomBytes } from 'node:crypto';
import { createKeyring, installKeyring, parseEncryptionKey } from '../../src/secrets/secret-box.js';
import { z } from 'zod';
import { BenchError } from './errors.js';

/**
 * The benches' one reading of the environment (STYLE.md §1, applied to the tooling): the
 * service URLs `npm run services:up` prints, and the knobs that shape a load.
 */

const seconds = (fallback: number) => z.coerce.number().positive().max(600).default(fallback);

const loadSchema = z.object({
  BENCH_CONNECTIONS: z.coerce.number().int().min(1).max(1024).default(64),
  BENCH_WARMUP_S: seconds(3),
  BENCH_DURATION_S: seconds(15),
});

export interface LoadSettings {
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
}

export interface ServiceUrls {
  kafkaBrokers: string[];
  redisUrl: string;
  /** Any database on the Postgres server the benches create their own databases on. */
  postgresUrl: string;
}

function defined(source: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(source).filter((entry): entry is [string, string] => Boolean(entry[1])));
}

/** The BENCH_* settings `schema` names, validated; a BenchError says which are wrong. */
function parseSettings<Schema extends z.ZodTypeAny>(schema: Schema, source: NodeJS.ProcessEnv): z.infer<Schema> {
  const parsed = schema.safeParse(defined(source));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new BenchError(`invalid bench settings: ${problems.join('; ')}`);
  }
  return parsed.data as z.infer<Schema>;
}

export function loadSettings(source: NodeJS.ProcessEnv = process.env): LoadSettings {
  const settings = parseSettings(loadSchema, source);
  return {
    connections: settings.BENCH_CONNECTIONS,
    warmupSeconds: settings.BENCH_WARMUP_S,
    durationSeconds: settings.BENCH_DURATION_S,
  };
}

const ingressVariantSchema = z.object({
  // Extra node flags for the Hookgate process only (e.g. V8 heap sizes), to try them.
  BENCH_NODE_FLAGS: z.string().optional(),
  // INGRESS_WORKERS for the measured ingress (the server CPU row then shows the primary only).
  BENCH_INGRESS_WORKERS: z.coerce.number().int().min(1).max(64).optional(),
  // INGRESS_BATCH_LINGER_MS for the measured ingress.
  BENCH_BATCH_LINGER_MS: z.coerce.number().int().min(0).max(1000).optional(),
});

export interface IngressVariant {
  nodeFlags: string[];
  workers: number | undefined;
  lingerMs: number | undefined;
}

/** The ingress bench's optional settings to try against the same baseline. */
export function ingressVariant(source: NodeJS.ProcessEnv = process.env): IngressVariant {
  const settings = parseSettings(ingressVariantSchema, source);
  return {
    nodeFlags: (settings.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
    workers: settings.BENCH_INGRESS_WORKERS,
    lingerMs: settings.BENCH_BATCH_LINGER_MS,
  };
}

/** KAFKA_BROKERS, REDIS_URL and a Postgres URL (TEST_DATABASE_URL, else DATABASE_URL) must be set. */
export function requireServices(source: NodeJS.ProcessEnv = process.env): ServiceUrls {
  const env = defined(source);
  const postgresUrl = env.TEST_DATABASE_URL ?? env.DATABASE_URL;
  const missing = [
    env.KAFKA_BROKERS ? undefined : 'KAFKA_BROKERS',
    env.REDIS_URL ? undefined : 'REDIS_URL',
    postgresUrl ? undefined : 'TEST_DATABASE_URL',
  ].filter((name): name is string => name !== undefined);
  if (missing.length > 0) {
    throw new BenchError(
      `${missing.join(', ')} not set; bring the services up first: eval "$(npm run -s services:up)"`,
    );
  }
  return {
    kafkaBrokers: env.KAFKA_BROKERS!.split(',').map((broker) => broker.trim()).filter(Boolean),
    redisUrl: env.REDIS_URL!,
    postgresUrl: postgresUrl!,
  };
}

/** What a child process inherits: enough to find node and tsx's cache, nothing of our shell's settings. */
// One encryption key per bench run, shared by every child: they open each other's sealed secrets.
const BENCH_ENCRYPTION_KEY = randomBytes(32).toString('base64');

/** Lets this process write sealed secrets (an integration's) that the children, with the same key, open. */
export function installBenchKeyring(): void {
  installKeyring(createKeyring([parseEncryptionKey(BENCH_ENCRYPTION_KEY)!]));
}

export function baseChildEnv(source: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env = defined(source);
  const kept: Record<string, string> = { HOOKGATE_ENCRYPTION_KEYS: BENCH_ENCRYPTION_KEY };
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    if (env[name] !== undefined) kept[name] = env[name];
  }
  return kept;
}
