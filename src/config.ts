import { isIP } from 'node:net';
import { z } from 'zod';
import { DEFAULT_SCHEDULE_SECONDS } from './consumers/retry-policy.js';
import { parseEncryptionKey } from './secrets/secret-box.js';

/**
 * The one place that reads the environment (STYLE.md §1). Every variable is listed in
 * `.env.example` and the README's table; `loadConfig` reports every problem at once.
 */

/** Production keys resist guessing: 32 characters (development keeps the 16-character minimum). */
export const PRODUCTION_MIN_KEY_LENGTH = 32;

const ROLES = ['ingress', 'persist', 'delivery', 'graph'] as const;
export type Role = (typeof ROLES)[number];

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const commaList = z
  .string()
  .default('')
  .transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean));

const urlWithProtocol = (protocols: string[]) =>
  z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`);

function isAddressOrCidr(entry: string): boolean {
  const [address = '', bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  const prefix = Number(bits);
  return /^\d+$/.test(bits) && prefix <= (family === 4 ? 32 : 128);
}

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOOKGATE_ROLE: z
    .string()
    .default('all')
    .transform((value, ctx): Role[] => {
      const parts = value.split(',').map((part) => part.trim()).filter(Boolean);
      if (parts.length === 1 && parts[0] === 'all') return [...ROLES];
      const unknown = parts.filter((part) => !ROLES.includes(part as Role));
      if (parts.length === 0 || unknown.length > 0) {
        ctx.addIssue({ code: 'custom', message: `must be "all" or a comma list of ${ROLES.join(', ')}` });
        return z.NEVER;
      }
      return [...new Set(parts as Role[])];
    }),
  LISTEN_HOST: z.string().min(1).default('127.0.0.1'),
  INGRESS_PORT: port(8080),
  MANAGEMENT_PORT: port(8081),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),

  HOOKGATE_DATA_DIR: z.string().min(1).default('.hookgate'),
  HOOKGATE_ALLOW_EMBEDDED_IN_PRODUCTION: z.enum(['true', 'false']).default('false'),
  DATABASE_URL: urlWithProtocol(['postgres:', 'postgresql:']).optional(),
  DATABASE_POOL_SIZE: positiveInt(10),
  REDIS_URL: urlWithProtocol(['redis:', 'rediss:']).optional(),
  REDIS_KEY_PREFIX: z.string().default('hookgate:'),
  KAFKA_BROKERS: commaList.refine(
    (brokers) => brokers.every((broker) => /^[^\s:]+:\d{1,5}$/.test(broker)),
    'must be a comma list of host:port',
  ),
  KAFKA_CLIENT_ID: z.string().min(1).default('hookgate'),
  KAFKA_TOPIC: z.string().min(1).default('hookgate.ingress.v1'),
  KAFKA_DLQ_TOPIC: z.string().min(1).default('hookgate.ingress.dlq.v1'),
  KAFKA_CONSUMER_GROUP: z.string().min(1).default('hookgate-persist'),
  KAFKA_TOPIC_PARTITIONS: positiveInt(6),

  MANAGEMENT_API_KEY: commaList.refine(
    (keys) => keys.every((key) => key.length >= 16),
    'must hold one or more comma-separated keys of at least 16 characters',
  ),
  // Keys that may query and subscribe but never mutate (wall dashboards), comma-separated.
  MANAGEMENT_READ_KEYS: commaList.refine(
    (keys) => keys.every((key) => key.length >= 16),
    'must hold one or more comma-separated keys of at least 16 characters',
  ),
  // Bearer token for GET /metrics; unset: open outside production, closed (403) in production.
  METRICS_TOKEN: z.string().min(16, 'must have at least 16 characters').optional(),
  // A process without the graph role still serves /metrics and health on this port (0 = any free one).
  METRICS_PORT: port(9464),
  DELIVERY_ALLOWED_HOSTS: commaList.refine(
    (entries) => entries.every((entry) => isAddressOrCidr(entry) || /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i.test(entry)),
    'must be a comma list of host names, IP addresses or CIDRs',
  ),
  INGRESS_MAX_BODY_BYTES: positiveInt(1024 * 1024),
  INGRESS_BODY_TIMEOUT_MS: positiveInt(10_000),
  INGRESS_HEADERS_TIMEOUT_MS: positiveInt(10_000),
  INGRESS_PUBLISH_TIMEOUT_MS: positiveInt(5_000),
  INGRESS_BATCH_MAX: positiveInt(500),
  INGRESS_BATCH_LINGER_MS: z.coerce.number().int().min(0).max(1000).default(2),
  INGRESS_MAX_PENDING: positiveInt(20_000),
  INGRESS_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  RATE_LIMIT_PER_MINUTE: positiveInt(6_000),
  DELIVERY_TIMEOUT_MS: positiveInt(15_000),
  DELIVERY_RETRY_SCHEDULE: z
    .string()
    .default(DEFAULT_SCHEDULE_SECONDS.join(','))
    .refine((value) => value.split(',').every((part) => /^\s*\d+(\.\d+)?\s*$/.test(part)), 'must be a comma list of seconds')
    .transform((value) => value.split(',').map((part) => Math.round(Number(part) * 1000))),
  DELIVERY_RETRY_AFTER_CAP_SECONDS: positiveInt(3600),
  DELIVERY_CONCURRENCY: positiveInt(32),
  DELIVERY_LEASE_MS: z.coerce.number().int().positive().optional(),
  DELIVERY_POLL_INTERVAL_MS: positiveInt(1000),
  DELIVERY_STOP_GRACE_MS: z.coerce.number().int().min(0).max(60_000).default(10_000),
  RETRY_DELIVERY_COOLDOWN_SECONDS: z.coerce.number().int().min(0).default(60),
  DESTINATION_PROBE_BASE_MS: z.coerce.number().int().min(100).default(5_000),
  DESTINATION_PROBE_MAX_MS: z.coerce.number().int().min(100).default(300_000),
  OPERATOR_WEBHOOK_URL: urlWithProtocol(['http:', 'https:']).optional(),
  OPERATOR_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/, 'must be a Standard Webhooks secret: whsec_ followed by base64 (at least 24 bytes)')
    .optional(),
  REPLAY_MAX_EVENTS: positiveInt(10_000),
  TRUSTED_PROXIES: commaList.refine((entries) => entries.every(isAddressOrCidr), 'must be a comma list of IP addresses or CIDRs'),
  HOOKGATE_ENCRYPTION_KEYS: commaList.refine(
    (keys) => keys.every((key) => parseEncryptionKey(key) !== undefined),
    'must be a comma list (newest first) of 32-byte keys, base64 or hex (e.g. `openssl rand -base64 32`)',
  ),
  RETENTION_DAYS: z.coerce.number().int().positive().optional(),
  METADATA_RETENTION_DAYS: z.coerce.number().int().positive().optional(),
  RETENTION_BATCH_SIZE: positiveInt(500),
  RETENTION_INTERVAL_SECONDS: positiveInt(300),
});

export type Config = ReturnType<typeof toConfig>;

function toConfig(env: z.infer<typeof envSchema>) {
  return {
    env: env.NODE_ENV,
    production: env.NODE_ENV === 'production',
    roles: env.HOOKGATE_ROLE,
    host: env.LISTEN_HOST,
    logLevel: env.LOG_LEVEL,
    ingress: {
      port: env.INGRESS_PORT,
      workers: env.INGRESS_WORKERS,
      maxBodyBytes: env.INGRESS_MAX_BODY_BYTES,
      bodyTimeoutMs: env.INGRESS_BODY_TIMEOUT_MS,
      headersTimeoutMs: env.INGRESS_HEADERS_TIMEOUT_MS,
      rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE,
      trustedProxies: env.TRUSTED_PROXIES,
      producer: {
        publishTimeoutMs: env.INGRESS_PUBLISH_TIMEOUT_MS,
        batchMax: env.INGRESS_BATCH_MAX,
        lingerMs: env.INGRESS_BATCH_LINGER_MS,
        maxPending: env.INGRESS_MAX_PENDING,
      },
    },
    management: {
      port: env.MANAGEMENT_PORT,
      apiKeys: env.MANAGEMENT_API_KEY,
      readKeys: env.MANAGEMENT_READ_KEYS,
      replayMaxEvents: env.REPLAY_MAX_EVENTS,
    },
    metrics: { token: env.METRICS_TOKEN, port: env.METRICS_PORT },
    dataDir: env.HOOKGATE_DATA_DIR,
    encryptionKeys: env.HOOKGATE_ENCRYPTION_KEYS,
    retention: {
      bodyDays: env.RETENTION_DAYS,
      metadataDays: env.METADATA_RETENTION_DAYS,
      batchSize: env.RETENTION_BATCH_SIZE,
      intervalMs: env.RETENTION_INTERVAL_SECONDS * 1000,
    },
    database: { url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE },
    redis: { url: env.REDIS_URL, keyPrefix: env.REDIS_KEY_PREFIX },
    kafka: {
      brokers: env.KAFKA_BROKERS,
      clientId: env.KAFKA_CLIENT_ID,
      topic: env.KAFKA_TOPIC,
      dlqTopic: env.KAFKA_DLQ_TOPIC,
      consumerGroup: env.KAFKA_CONSUMER_GROUP,
      partitions: env.KAFKA_TOPIC_PARTITIONS,
    },
    delivery: {
      allowedHosts: env.DELIVERY_ALLOWED_HOSTS,
      timeoutMs: env.DELIVERY_TIMEOUT_MS,
      // A lease outlives the longest attempt, so only a crashed worker's claims expire.
      leaseMs: env.DELIVERY_LEASE_MS ?? env.DELIVERY_TIMEOUT_MS + 15_000,
      concurrency: env.DELIVERY_CONCURRENCY,
      pollIntervalMs: env.DELIVERY_POLL_INTERVAL_MS,
      // On SIGTERM, running attempts get this long before they are cut short and recorded.
      stopGraceMs: env.DELIVERY_STOP_GRACE_MS,
      retry: { scheduleMs: env.DELIVERY_RETRY_SCHEDULE, retryAfterCapMs: env.DELIVERY_RETRY_AFTER_CAP_SECONDS * 1000, jitter: 0.2 },
      retryCooldownMs: env.RETRY_DELIVERY_COOLDOWN_SECONDS * 1000,
      // Parked destinations: the first probe after baseMs, then doubling up to maxMs.
      probe: { baseMs: env.DESTINATION_PROBE_BASE_MS, maxMs: Math.max(env.DESTINATION_PROBE_BASE_MS, env.DESTINATION_PROBE_MAX_MS) },
    },
    /** Signed notifications of parked, unparked and disabled destinations and dead deliveries (issue 14). */
    operatorWebhook: env.OPERATOR_WEBHOOK_URL ? { url: env.OPERATOR_WEBHOOK_URL, secret: env.OPERATOR_WEBHOOK_SECRET } : undefined,
  };
}

/**
 * Rules across variables, read from the raw environment so that they are reported together with
 * every other problem (an object refinement would only run once everything else parsed).
 */
function crossVariableProblems(env: Record<string, string>): string[] {
  const problems: string[] = [];
  const production = env.NODE_ENV === 'production';
  const embedded = ['DATABASE_URL', 'REDIS_URL', 'KAFKA_BROKERS'].filter((name) => !env[name]);
  if (production && embedded.length > 0 && env.HOOKGATE_ALLOW_EMBEDDED_IN_PRODUCTION !== 'true') {
    for (const name of embedded) {
      problems.push(
        `${name}: required in production (embedded backends are for development; set HOOKGATE_ALLOW_EMBEDDED_IN_PRODUCTION=true to override)`,
      );
    }
  }
  if (env.OPERATOR_WEBHOOK_URL && !env.OPERATOR_WEBHOOK_SECRET) {
    problems.push('OPERATOR_WEBHOOK_SECRET: required with OPERATOR_WEBHOOK_URL (notifications are signed; generate one with `node -e "console.log(\'whsec_\'+require(\'crypto\').randomBytes(32).toString(\'base64\'))"`)');
  }
  if (production && !env.MANAGEMENT_API_KEY) problems.push('MANAGEMENT_API_KEY: required in production');
  if (production && !env.HOOKGATE_ENCRYPTION_KEYS && env.HOOKGATE_ALLOW_EMBEDDED_IN_PRODUCTION !== 'true') {
    problems.push('HOOKGATE_ENCRYPTION_KEYS: required in production (secrets are encrypted at rest with these keys)');
  }
  if (env.RETENTION_DAYS && env.METADATA_RETENTION_DAYS && Number(env.METADATA_RETENTION_DAYS) < Number(env.RETENTION_DAYS)) {
    problems.push('METADATA_RETENTION_DAYS: must be at least RETENTION_DAYS (bodies go first, then the rows that hold them)');
  }
  if (production && env.MANAGEMENT_API_KEY?.split(',').some((key) => key.trim() !== '' && key.trim().length < PRODUCTION_MIN_KEY_LENGTH)) {
    problems.push(`MANAGEMENT_API_KEY: every key must have at least ${PRODUCTION_MIN_KEY_LENGTH} characters in production`);
  }
  const roles = (env.HOOKGATE_ROLE ?? 'all').split(',').map((role) => role.trim());
  const has = (role: string) => roles.includes('all') || roles.includes(role);
  if (Number(env.INGRESS_WORKERS ?? '1') > 1) {
    if (roles.length !== 1 || roles[0] !== 'ingress') problems.push('INGRESS_WORKERS: several ingress workers need HOOKGATE_ROLE=ingress (run the other roles in processes of their own)');
    const missing = ['DATABASE_URL', 'REDIS_URL', 'KAFKA_BROKERS'].filter((name) => !env[name]);
    if (missing.length > 0) problems.push(`INGRESS_WORKERS: several ingress workers share the real services; set ${missing.join(', ')}`);
  }
  if (!env.KAFKA_BROKERS && has('ingress') !== has('persist')) {
    problems.push('HOOKGATE_ROLE: the embedded event log lives in one process: run ingress and persist together, or set KAFKA_BROKERS');
  }
  return problems;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses an environment (by default `process.env`); throws a ConfigError naming every problem. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  // Empty strings count as unset, so `FOO=` in a shell behaves like no FOO at all.
  const env = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(env);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => {
        const name = issue.path.join('.');
        return issue.code === 'invalid_type' && env[name] === undefined ? `${name}: required but not set` : `${name}: ${issue.message}`;
      });
  problems.push(...crossVariableProblems(env as Record<string, string>));
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  return toConfig(parsed.data);
}

/** For `npm run db:migrate`, which migrates a Postgres database (the embedded one migrates itself at start). */
export function loadDatabaseUrl(source: Record<string, string | undefined> = process.env): string {
  const parsed = z.object({ DATABASE_URL: urlWithProtocol(['postgres:', 'postgresql:']) }).safeParse({ DATABASE_URL: source.DATABASE_URL || undefined });
  if (!parsed.success) throw new ConfigError([`DATABASE_URL: ${source.DATABASE_URL ? 'must be a postgres:// URL' : 'required but not set'}`]);
  return parsed.data.DATABASE_URL;
}
