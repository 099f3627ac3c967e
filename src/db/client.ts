import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import type { Logger } from '../log.js';
import { lockDataDir } from './data-dir-lock.js';
import * as schema from './schema.js';

/** Either backend: Postgres through postgres.js, or PGlite on disk. Same schema, same queries. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

export interface DatabaseHandle {
  db: Database;
  backend: 'postgres' | 'pglite';
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Raw `execute` results differ by driver: postgres.js returns the rows, PGlite an object holding them. */
export function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

/** Advisory-lock key: two processes starting together must not run the same migration twice. */
const MIGRATION_LOCK = 727274;

export async function openDatabase(options: { url?: string; dataDir: string; poolSize?: number; log?: Logger }): Promise<DatabaseHandle> {
  if (options.url) {
    const sql = postgres(options.url, {
      max: options.poolSize ?? 10,
      // Postgres notices (e.g. "relation already exists, skipping") are not our logs' business.
      onnotice: () => {},
      connection: { application_name: 'hookgate' },
    });
    return {
      db: drizzlePostgres(sql, { schema }) as unknown as Database,
      backend: 'postgres',
      ping: async () => void (await sql`select 1`),
      close: () => sql.end({ timeout: 5 }),
    };
  }
  // Embedded: one PGlite database on disk for the whole process. It runs one statement at a time,
  // which is what a single-process, bare-machine start needs; production points DATABASE_URL at Postgres.
  mkdirSync(options.dataDir, { recursive: true });
  const release = lockDataDir(options.dataDir, process.argv.slice(1).join(' ').slice(0, 160));
  try {
    const client = await PGlite.create(options.dataDir);
    const db = drizzlePglite(client, { schema });
    await migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER });
    return {
      db: db as unknown as Database,
      backend: 'pglite',
      ping: async () => void (await client.query('select 1')),
      close: async () => {
        await client.close();
        release();
      },
    };
  } catch (error) {
    release();
    throw error;
  }
}

/** Applies the committed migrations in `drizzle/` to a Postgres database; safe to run repeatedly and concurrently. */
export async function migrateDatabase(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK})`;
    await migratePostgres(drizzlePostgres(sql), { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await sql.end({ timeout: 5 });
  }
}
