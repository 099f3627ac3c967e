import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Logger as DrizzleLogger } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { graphql, type ExecutionResult } from 'graphql';
import postgres from 'postgres';
import { createStatusPublisher } from '../../src/consumers/status-events.js';
import { MIGRATIONS_FOLDER, type Database } from '../../src/db/client.js';
import * as schema from '../../src/db/schema.js';
import type { GraphContext } from '../../src/graph/context.js';
import { createLiveFeed } from '../../src/graph/live-feed.js';
import { createLoaders } from '../../src/graph/loaders.js';
import { buildSchema } from '../../src/graph/schema/index.js';
import { createLogger } from '../../src/log.js';
import { createMemoryCoordination } from '../../src/ports/memory-coordination.js';
import { createTestDatabase } from './database.js';
import { services } from './services.js';

/**
 * The GraphQL schema executed in-process against one database, without HTTP, so a test can count
 * the SQL statements an operation costs (drizzle's query logger sees every statement, on both
 * backends) and seed rows with exact timestamps through `exec`.
 */
export interface DirectGraph {
  backend: 'postgres' | 'pglite';
  db: Database;
  /** Raw SQL, for seeding. */
  exec(text: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** The plan of a statement with sequential scans off (Postgres only): can an index serve it? */
  explain(text: string): Promise<string>;
  run<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<ExecutionResult<T>>;
  /** Statements issued by `run` since the last reset. */
  statements: string[];
  /** A fresh operation context, as the server builds one per request. */
  context(): GraphContext;
  coordination: ReturnType<typeof createMemoryCoordination>;
  live: ReturnType<typeof createLiveFeed>;
  close(): Promise<void>;
}

export const BACKENDS = ['postgres', 'pglite'] as const;

export async function openDirectGraph(backend: 'postgres' | 'pglite'): Promise<DirectGraph> {
  const statements: string[] = [];
  const logger: DrizzleLogger = { logQuery: (query) => void statements.push(query) };
  let db: Database;
  let exec: DirectGraph['exec'];
  let close: () => Promise<void>;
  let explain: DirectGraph['explain'] = async () => {
    throw new Error('explain runs on Postgres only');
  };
  if (backend === 'postgres') {
    const database = await createTestDatabase(services.testDatabaseUrl!);
    const client = postgres(database.url, { max: 4, onnotice: () => {} });
    db = drizzlePostgres(client, { schema, logger }) as unknown as Database;
    exec = async (text, params = []) => (await client.unsafe(text, params as never[])) as unknown as Record<string, unknown>[];
    explain = async (text) =>
      client.begin(async (tx) => {
        await tx.unsafe('set local enable_seqscan = off');
        const rows = await tx.unsafe(`explain ${text}`);
        return rows.map((row) => Object.values(row).join(' ')).join('\n');
      });
    close = async () => {
      await client.end({ timeout: 5 });
      await database.drop();
    };
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'hookgate-pglite-'));
    const client = await PGlite.create(dir);
    const pg = drizzlePglite(client, { schema, logger });
    await migratePglite(pg, { migrationsFolder: MIGRATIONS_FOLDER });
    db = pg as unknown as Database;
    exec = async (text, params = []) => (await client.query<Record<string, unknown>>(text, params)).rows;
    close = async () => {
      await client.close();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  const log = createLogger({ level: 'silent' });
  const coordination = createMemoryCoordination();
  const live = createLiveFeed({ coordination, db, log });
  const context = (): GraphContext => ({
    db,
    log,
    requestId: 'test-request',
    actor: 'key:test',
    readOnly: false,
    sourceIp: '127.0.0.1',
    integrations: { find: async () => null, changed: async () => {}, listen: async () => async () => {} },
    destinationGuard: { check: async () => ({ ok: true }) as never },
    status: createStatusPublisher(coordination, log),
    loaders: createLoaders(db),
    live,
    consumerLag: async () => [],
    settings: { retryCooldownMs: 60_000, replayMaxEvents: 10_000 },
  });
  statements.length = 0;
  return {
    backend,
    db,
    exec,
    statements,
    explain,
    context,
    coordination,
    live,
    run: (query, variables) => graphql({ schema: buildSchema(), source: query, variableValues: variables, contextValue: context() }) as never,
    close,
  };
}
