import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { eventually } from '../helpers/app.js';
import { createHmacIntegration, startAppOn, type InProcessApp } from '../helpers/app-on.js';
import { hookgateEnv } from '../helpers/child-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { signers } from '../helpers/providers.js';
import { describeWithServices, services } from '../helpers/services.js';
import { postWebhook } from '../helpers/signing.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

const BEFORE = 150;
const DURING = 300;

/**
 * The persist consumer reaches Postgres through a TCP proxy; the test cuts every connection while
 * batches are being stored (the shared Postgres itself is never stopped). DESIGN.md §3: every
 * accepted event is stored exactly once, and STYLE.md §14: one warning when the database goes,
 * one line when it is back — not one per attempt.
 */
describeWithServices('the database lost while the persist consumer stores batches', ['kafka', 'postgres', 'redis'], () => {
  let database: TestDatabase;
  let sql: postgres.Sql;
  let ingress: InProcessApp;
  let persist: RunningApp | undefined;
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
  const lines: string[] = [];
  const secret = `acme-secret-${crypto.randomUUID()}`;

  beforeAll(async () => {
    database = await createTestDatabase(services.testDatabaseUrl!);
    sql = postgres(database.url, { max: 2 });
    const target = new URL(database.url);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const proxied = new URL(database.url);
    proxied.port = String(proxy.port);
    const env = hookgateEnv(database.url);
    ingress = await startAppOn({ ...env, HOOKGATE_ROLE: 'ingress,graph' });
    await createHmacIntegration(ingress, { provider: 'acme', secret });
    const config = loadConfig({ ...env, HOOKGATE_ROLE: 'persist', INGRESS_PORT: '0', MANAGEMENT_PORT: '0', METRICS_PORT: '0', DATABASE_URL: proxied.toString() });
    persist = await startApp(config, createLogger({ level: 'debug', write: (line) => void lines.push(line) }));
  }, 60_000);

  afterAll(async () => {
    await persist?.stop();
    await ingress?.stop();
    await proxy?.stop();
    await sql?.end();
    await database?.drop();
  });

  const send = async (id: string) => {
    const body = JSON.stringify({ id, note: `BODY-${id}` });
    const response = await postWebhook(ingress.ingressUrl!, 'acme', body, await signers.HMAC_SHA256!(body, secret));
    expect(response.status).toBe(202);
    return response.body.eventId as string;
  };
  const stored = async () => (await sql<{ n: number }[]>`select count(*)::int as n from events`)[0]!.n;

  it('stores every accepted event exactly once across the outage, with one warning each way', async () => {
    const accepted = new Set<string>();
    for (const id of await Promise.all(Array.from({ length: BEFORE }, (_, i) => send(`before-${i}`)))) accepted.add(id);
    // Cut while the consumer is storing the next wave's batches.
    const during = Promise.all(Array.from({ length: DURING }, (_, i) => send(`during-${i}`)));
    await eventually(async () => ((await stored()) > BEFORE ? true : undefined), 30_000, 5);
    proxy.cut();
    for (const id of await during) accepted.add(id);
    // Long enough for several retries with backoff.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const whileCut = await stored();
    proxy.restore();
    await eventually(async () => ((await stored()) >= accepted.size ? true : undefined), 60_000, 100);
    await new Promise((resolve) => setTimeout(resolve, 1000));

    const ids = [...accepted];
    const [counts] = await sql<{ rows: number; distinct: number; accepted: number; received: number }[]>`
      select count(*)::int as rows, count(distinct id)::int as distinct,
             count(*) filter (where id = any(${ids}::uuid[]))::int as accepted,
             (select count(*)::int from audit_entries where action = 'event.received') as received
      from events`;
    expect(counts).toEqual({ rows: ids.length, distinct: ids.length, accepted: ids.length, received: ids.length });
    expect(whileCut).toBeLessThan(ids.length);

    const database = lines.filter((line) => line.includes('"dependency":"database"')).map((line) => JSON.parse(line) as { level: string; msg: string; failedAttempts?: number });
    expect(database.map((line) => [line.level, line.msg])).toEqual([
      ['warn', 'database unavailable; persisting paused; retrying with backoff'],
      ['warn', 'database available again'],
    ]);
    expect(database[1]!.failedAttempts).toBeGreaterThan(1);
    expect(lines.filter((line) => line.includes('BODY-'))).toEqual([]);
  }, 120_000);
});
