import { z } from 'zod';
import { BenchError } from './errors.js';

/**
 * The knobs of the persist and delivery benches, read once like bench-env.ts reads the load's.
 * Every count and wait is bounded: a bench never runs open-ended on a shared machine.
 */

const count = (fallback: number, max: number) => z.coerce.number().int().min(1).max(max).default(fallback);

const concurrencyList = z
  .string()
  .default('32,64')
  .transform((value) => value.split(',').map((part) => part.trim()).filter(Boolean).map(Number))
  .refine((values) => values.length > 0 && values.every((value) => Number.isInteger(value) && value >= 1 && value <= 256), 'must be a comma list of integers 1-256');

const schema = z.object({
  BENCH_EVENTS: count(100_000, 1_000_000),
  // Rows per INSERT for the raw baselines; by default the consumer's own median batch.
  BENCH_RAW_BATCH: z.coerce.number().int().min(1).max(5000).optional(),
  BENCH_DELIVERIES: count(20_000, 200_000),
  BENCH_DELIVERY_CONCURRENCY: concurrencyList,
  // The latency phase: stored→delivered at a steady rate, with the first concurrency; 0 s skips it.
  BENCH_LATENCY_RATE: count(200, 5000),
  BENCH_LATENCY_SECONDS: z.coerce.number().int().min(0).max(300).default(20),
  // The longest any one side may take before the bench gives up on it.
  BENCH_TIMEOUT_S: z.coerce.number().positive().max(1800).default(600),
});

export interface PersistSettings {
  events: number;
  rawBatch: number | undefined;
  timeoutMs: number;
}

export interface DeliverySettings {
  deliveries: number;
  concurrencies: number[];
  timeoutMs: number;
  latencyRate: number;
  latencySeconds: number;
}

function parse(source: NodeJS.ProcessEnv) {
  const defined = Object.fromEntries(Object.entries(source).filter(([, value]) => Boolean(value)));
  const parsed = schema.safeParse(defined);
  if (!parsed.success) {
    throw new BenchError(`invalid bench settings: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  }
  return parsed.data;
}

export function persistSettings(source: NodeJS.ProcessEnv = process.env): PersistSettings {
  const env = parse(source);
  return { events: env.BENCH_EVENTS, rawBatch: env.BENCH_RAW_BATCH, timeoutMs: env.BENCH_TIMEOUT_S * 1000 };
}

export function deliverySettings(source: NodeJS.ProcessEnv = process.env): DeliverySettings {
  const env = parse(source);
  return {
    deliveries: env.BENCH_DELIVERIES,
    concurrencies: env.BENCH_DELIVERY_CONCURRENCY,
    timeoutMs: env.BENCH_TIMEOUT_S * 1000,
    latencyRate: env.BENCH_LATENCY_RATE,
    latencySeconds: env.BENCH_LATENCY_SECONDS,
  };
}

/** The part of the command line a reader needs to repeat a run: the settings that differ from the defaults. */
export function overridesOf(source: NodeJS.ProcessEnv, names: string[]): string {
  const defaults = parse({});
  const env = parse(source);
  return names
    .filter((name) => String(env[name as keyof typeof env]) !== String(defaults[name as keyof typeof defaults]))
    .map((name) => `${name}=${source[name]} `)
    .join('');
}
