import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import type { ServiceUrls } from './bench-env.js';
import { postgresVersion } from './bench-database.js';
import { redisServerPid, redisVersion } from './bench-services.js';
import { summarizeCpuProfile, type CpuProfile } from './cpu-profile.js';
import { BenchError } from './errors.js';
import type { MachineInfo, ProfileEntry } from './ingress-report.js';
import { findProcesses } from './server-process.js';

/**
 * What every bench run needs around its measurement: an id, the machine it ran on, the service
 * processes to watch, the child's CPU profile, and a stack of clean-ups that runs whatever happens.
 */

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const progress = (line: string) => process.stderr.write(`bench: ${line}\n`);

export function newRunId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** The commit measured, `+changes` when src/ differs from it (as the ingress bench records it); `unknown` outside git. */
export function describeCommit(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--', 'src') ? '+changes' : ''}`;
  } catch {
    return 'unknown';
  }
}

export interface BenchMachine extends MachineInfo {
  /** The Postgres settings that decide write throughput most. */
  postgresSettings: Record<string, string>;
}

const POSTGRES_SETTINGS = ['shared_buffers', 'synchronous_commit', 'fsync', 'max_wal_size', 'autovacuum'];

async function postgresSettings(serverUrl: string): Promise<Record<string, string>> {
  const sql = postgres(serverUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    const rows = await sql<{ name: string; setting: string; unit: string | null }[]>`
      select name, setting, unit from pg_settings where name in ${sql(POSTGRES_SETTINGS)}`;
    return Object.fromEntries(rows.map((row) => [row.name, row.unit === '8kB' ? `${(Number(row.setting) * 8) / 1024} MiB` : `${row.setting}${row.unit ?? ''}`]));
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export async function describeMachine(services: ServiceUrls): Promise<BenchMachine> {
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  return {
    cpus: availableParallelism(),
    cpuModel,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    postgres: await postgresVersion(services.postgresUrl).catch(() => 'unknown'),
    postgresSettings: await postgresSettings(services.postgresUrl).catch(() => ({})),
    redis: await redisVersion(services.redisUrl).catch(() => 'unknown'),
    kafkaBrokers: services.kafkaBrokers,
    loadAverageAtStart: loadavg(),
  };
}

/** The local Kafka broker and Redis server (when found), to see what a run costs them. */
export async function serviceProcesses(services: ServiceUrls): Promise<{ kafka: number[]; redis: number[] }> {
  const kafka = await findProcesses((commandLine) => /\bkafka\.Kafka\b/.test(commandLine)).catch(() => []);
  const redis = await redisServerPid(services.redisUrl).catch(() => null);
  return { kafka, redis: redis === null ? [] : [redis] };
}

/**
 * Server processes of one database (its sessions and its autovacuum workers): Postgres names each
 * `postgres: <cluster>: <user> <database> <client>`, so other people's databases are left out.
 */
export function postgresSessionsOf(database: string): () => Promise<number[]> {
  return () => findProcesses((commandLine) => commandLine.startsWith('postgres: ') && commandLine.includes(` ${database} `));
}

/** The cluster's shared writers (WAL writer, checkpointer, background writer): busy with any database's writes. */
export function postgresWriters(): Promise<number[]> {
  return findProcesses((commandLine) => /^postgres: \S+: (walwriter|checkpointer|background writer)\s*$/.test(commandLine));
}

/** Flushes dirty pages first, so that no run pays for the checkpoint of the one before it. */
export async function checkpoint(databaseUrl: string): Promise<boolean> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    await sql`checkpoint`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * The main thread's profile of process `pid` (Node names it CPU.<date>.<time>.<pid>.0.<seq>.cpuprofile;
 * tsx's loader thread writes another), only the samples inside `window` when it covers it.
 */
export async function readCpuProfile(dir: string, pid: number, window: { startUs: number; endUs: number }): Promise<ProfileEntry | null> {
  const name = (await readdir(dir)).find((file) => new RegExp(`^CPU\\.\\d+\\.\\d+\\.${pid}\\.0\\.\\d+\\.cpuprofile$`).test(file));
  if (!name) return null;
  let profile: CpuProfile;
  try {
    profile = JSON.parse(await readFile(join(dir, name), 'utf8')) as CpuProfile;
  } catch {
    return null;
  }
  const covers = profile.startTime <= window.startUs && profile.endTime >= window.endUs;
  return {
    file: join(dir, name).slice(ROOT.length),
    summary: summarizeCpuProfile(profile, { projectRoot: ROOT.replace(/\/$/, ''), top: 15, ...(covers ? { window } : {}) }),
  };
}

export const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

export interface BenchScope {
  /** Registers an undo step; steps run in reverse order at the end, each on its own. */
  defer(name: string, run: () => Promise<unknown>): void;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
}

/** Runs a bench body and then every clean-up it registered, also when it failed or was interrupted. */
export async function withCleanups<T>(body: (scope: BenchScope) => Promise<T>): Promise<T> {
  const cleanups: { name: string; run: () => Promise<unknown> }[] = [];
  const aborter = new AbortController();
  const onSignal = () => aborter.abort(new BenchError('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await body({ defer: (name, run) => cleanups.push({ name, run }), signal: aborter.signal });
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
