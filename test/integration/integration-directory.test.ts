import { randomUUID } from 'node:crypto';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.js';
import * as schema from '../../src/db/schema.js';
import { createIntegrationDirectory } from '../../src/ingress/integration-directory.js';
import { silentLogger } from '../../src/log.js';
import { createRedisCoordination } from '../../src/ports/redis-coordination.js';
import { eventually } from '../helpers/eventually.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { describeWithServices, services } from '../helpers/services.js';

describeWithServices('integration directory on Postgres and Redis', ['postgres', 'redis'], () => {
  let database: TestDatabase;
  let sql: postgres.Sql;
  let queries = 0;
  let db: Database;

  beforeAll(async () => {
    database = await createTestDatabase(services.testDatabaseUrl!);
    sql = postgres(database.url, { max: 2, debug: () => void (queries += 1) });
    db = drizzle(sql, { schema }) as unknown as Database;
    await sql`insert into integrations (provider, name, scheme, secret) values ('acme', 'Acme', 'HMAC_SHA256', 'acme-secret-0123456789')`;
  });

  afterAll(async () => {
    await sql?.end();
    await database?.drop();
  });

  it('answers 100,000 unknown names without a query and without growing', async () => {
    const directory = createIntegrationDirectory(db, { refreshMs: 60_000 });
    const stop = await directory.listen();
    expect((await directory.find('acme'))?.provider).toBe('acme');
    const before = queries;
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    for (let index = 0; index < 100_000; index += 1) {
      expect(await directory.find(`nobody-${index}-${randomUUID()}`)).toBeNull();
    }
    global.gc?.();
    expect(queries - before).toBe(0);
    // Without gc exposed the heap still holds garbage; 140 MiB was the figure before the fix.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
    await stop();
  });

  it('sees a change announced by another instance at once', async () => {
    const prefix = `hookgate-test:${randomUUID().slice(0, 8)}:`;
    const coordinationA = createRedisCoordination({ url: services.redisUrl!, keyPrefix: prefix, log: silentLogger });
    const coordinationB = createRedisCoordination({ url: services.redisUrl!, keyPrefix: prefix, log: silentLogger });
    const a = createIntegrationDirectory(db, { coordination: coordinationA, refreshMs: 60_000 });
    const b = createIntegrationDirectory(db, { coordination: coordinationB, refreshMs: 60_000 });
    const stops = [await a.listen(), await b.listen()];
    expect(await b.find('globex')).toBeNull();
    await sql`insert into integrations (provider, name, scheme, secret) values ('globex', 'Globex', 'SHARED_TOKEN', 'globex-secret-0123456789')`;
    await a.changed('globex');
    await eventually(async () => (await b.find('globex')) ?? undefined, 5000, 10);
    for (const stop of stops) await stop();
    await coordinationA.close();
    await coordinationB.close();
  });
});
