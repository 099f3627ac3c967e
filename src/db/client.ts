import { fileURLToPath } from 'node:url';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import type { Logger } from '../log.js';
import * as schema from './schema.js';

export type Database = PostgresJsDatabase<typeof schema>;

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

export interface DatabaseHandle {
  db: Database;
  sql: postgres.Sql;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function createDatabase(options: { url: string; poolSize?: number; log?: Logger }): DatabaseHandle {
  const sql = postgres(options.url, {
    max: options.poolSize ?? 10,
    // Postgres notices (e.g. "relation already exists, skipping") are not our logs' business.
    onnotice: () => {},
    connection: { application_name: 'hookgate' },
  });
  const db = drizzle(sql, { schema });
  return {
    db,
    sql,
    ping: async () => {
      await sql`select 1`;
    },
    close: () => sql.end({ timeout: 5 }),
  };
}

/** Applies the committed migrations in `drizzle/`; safe to run repeatedly and concurrently. */
export async function migrateDatabase(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    // Two processes starting together must not both run the same migration.
    await sql`select pg_advisory_lock(727274)`;
    await migrate(drizzle(sql), { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await sql.end({ timeout: 5 });
  }
}
