import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { migrateDatabase } from '../../src/db/client.js';

/**
 * Every test file gets its own database, copied from a migrated template, so suites running
 * in parallel never see each other's rows and no test touches a database it did not create.
 */
function withDatabase(url: string, name: string): string {
  const next = new URL(url);
  next.pathname = `/${name}`;
  return next.toString();
}

export function templateName(testDatabaseUrl: string): string {
  return `${new URL(testDatabaseUrl).pathname.slice(1)}_template`;
}

async function admin<T>(testDatabaseUrl: string, run: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(withDatabase(testDatabaseUrl, 'postgres'), { max: 1, onnotice: () => {} });
  try {
    return await run(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export async function prepareTemplate(testDatabaseUrl: string): Promise<void> {
  const template = templateName(testDatabaseUrl);
  await admin(testDatabaseUrl, async (sql) => {
    await sql.unsafe(`drop database if exists "${template}" with (force)`);
    await sql.unsafe(`create database "${template}"`);
  });
  await migrateDatabase(withDatabase(testDatabaseUrl, template));
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(testDatabaseUrl: string, options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const name = `${templateName(testDatabaseUrl).replace(/_template$/, '')}_${randomBytes(4).toString('hex')}`;
  await admin(testDatabaseUrl, (sql) =>
    sql.unsafe(options.empty ? `create database "${name}"` : `create database "${name}" template "${templateName(testDatabaseUrl)}"`),
  );
  return {
    url: withDatabase(testDatabaseUrl, name),
    drop: () => admin(testDatabaseUrl, (sql) => sql.unsafe(`drop database if exists "${name}" with (force)`)).then(() => {}),
  };
}
