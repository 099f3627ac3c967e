import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { migrateDatabase } from '../../src/db/client.js';

/**
 * A throwaway, migrated database per bench run, on the server the tests use: a bench never
 * reads or writes anyone else's rows, and dropping it leaves the server as it was.
 */
export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const next = new URL(url);
  next.pathname = `/${name}`;
  return next.toString();
}

async function onAdminDatabase<T>(serverUrl: string, run: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(withDatabase(serverUrl, 'postgres'), { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    return await run(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export async function createBenchDatabase(serverUrl: string): Promise<BenchDatabase> {
  const name = `hookgate_bench_${randomBytes(5).toString('hex')}`;
  await onAdminDatabase(serverUrl, (sql) => sql.unsafe(`create database "${name}"`));
  const url = withDatabase(serverUrl, name);
  const drop = async () => {
    // `with (force)` ends the sessions a server child may still hold.
    await onAdminDatabase(serverUrl, (sql) => sql.unsafe(`drop database if exists "${name}" with (force)`));
  };
  try {
    await migrateDatabase(url);
  } catch (error) {
    await drop();
    throw error;
  }
  return { name, url, drop };
}

/** `SHOW server_version` of the server, for the report. */
export async function postgresVersion(serverUrl: string): Promise<string> {
  return onAdminDatabase(serverUrl, async (sql) => {
    const rows = await sql<{ server_version: string }[]>`show server_version`;
    return rows[0]?.server_version ?? 'unknown';
  });
}
