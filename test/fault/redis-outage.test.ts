import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { startPrivateRedis } from '../helpers/processes.js';
import { secretFor, signers } from '../helpers/providers.js';
import { describeWithServices } from '../helpers/services.js';
import { postWebhook } from '../helpers/signing.js';

describeWithServices('Redis outage (a private redis-server, killed and restarted)', ['kafka', 'postgres', 'redis'], () => {
  let app: TestApp;
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  let sql: postgres.Sql;
  const secret = secretFor('HMAC_SHA256');

  const send = async (id: string) => {
    const body = JSON.stringify({ id });
    return postWebhook(app.ingressUrl, 'acme', body, await signers.HMAC_SHA256!(body, secret));
  };

  beforeAll(async () => {
    redis = await startPrivateRedis();
    app = await startTestApp({ REDIS_URL: redis.url, HOOKGATE_ROLE: 'ingress,persist,graph' });
    sql = postgres(app.database.url, { max: 2 });
    await app.graphql(`mutation ($input: CreateIntegrationInput!) { createIntegration(input: $input) { __typename } }`, {
      input: { provider: 'acme', name: 'Acme', verification: { scheme: 'HMAC_SHA256', secret, eventKeyPath: '$.id' } },
    });
  });

  afterAll(async () => {
    await sql?.end();
    await app?.stop();
    await redis?.stop();
  });

  it('keeps accepting and storing each event once without Redis, reports it down, and recovers', async () => {
    expect((await send('with-redis')).status).toBe(202);
    await redis.stop();

    const health = await fetch(`${app.ingressUrl}/api/v1/health`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { dependencies: Record<string, string> }).dependencies.redis).toBe('down');

    // Rate limiting fails open and markers are skipped: Postgres alone keeps one row per key.
    const first = await send('without-redis');
    const duplicate = await send('without-redis');
    expect(first.status).toBe(202);
    expect(duplicate.body.eventId).toBe(first.body.eventId);
    await eventually(async () => {
      const rows = await sql<{ id: string }[]>`select id from events where event_key in ('with-redis', 'without-redis')`;
      return rows.length === 2 ? rows : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const [row] = await sql<{ count: number }[]>`select count(*)::int as count from events where event_key = 'without-redis'`;
    expect(row!.count).toBe(1);

    const restarted = await startPrivateRedis(redis.port);
    redis = restarted;
    await eventually(async () => ((await fetch(`${app.ingressUrl}/api/v1/health`)).status === 200 ? true : undefined), 20_000, 250);
    expect((await send('after-redis')).status).toBe(202);
  });
});
