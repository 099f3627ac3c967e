import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { describeWithServices, services } from '../helpers/services.js';
import { hexHmac, postWebhook } from '../helpers/signing.js';

/** Issue 12 on the ingress: what authenticated a request is never stored. */
describeWithServices('ingress hardening on the real services', ['kafka', 'postgres', 'redis'], () => {
  let app: TestApp;
  let sql: postgres.Sql;
  const token = `globex-token-${randomUUID()}`;
  const hmacSecret = `partner-secret-${randomUUID()}`;

  const create = async (input: Record<string, unknown>) => {
    const created = await app.graphql<{ createIntegration: { __typename: string } }>(
      `mutation ($input: CreateIntegrationInput!) { createIntegration(input: $input) { __typename } }`,
      { input },
    );
    expect(created.data?.createIntegration.__typename).toBe('Integration');
  };

  beforeAll(async () => {
    app = await startTestApp();
    sql = postgres(app.database.url, { max: 2 });
    await create({ provider: 'globex', name: 'Globex', verification: { scheme: 'SHARED_TOKEN', secret: token, header: 'x-globex-key' } });
    await create({ provider: 'partner', name: 'Partner', verification: { scheme: 'HMAC_SHA256', secret: hmacSecret, header: 'x-partner-sig' } });
  });

  afterAll(async () => {
    await sql?.end();
    await app?.stop();
  });

  it('never stores the header an integration authenticates with, whatever its name', async () => {
    const tokenBody = JSON.stringify({ id: `g-${randomUUID()}`, type: 'order.created' });
    const tokenAnswer = await postWebhook(app.ingressUrl, 'globex', tokenBody, { 'x-globex-key': token, 'x-trace': 'kept' });
    expect(tokenAnswer.status).toBe(202);
    const signedBody = JSON.stringify({ id: `p-${randomUUID()}`, type: 'invoice.paid' });
    const signature = hexHmac(hmacSecret, signedBody);
    const signedAnswer = await postWebhook(app.ingressUrl, 'partner', signedBody, { 'x-partner-sig': signature, 'x-trace': 'kept' });
    expect(signedAnswer.status).toBe(202);

    const ids = [tokenAnswer.body.eventId as string, signedAnswer.body.eventId as string];
    const rows = await eventually(async () => {
      const found = await sql<{ id: string; headers: Record<string, string> }[]>`select id, headers from events where id = any(${ids})`;
      return found.length === 2 ? found : undefined;
    });
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(token);
    expect(stored).not.toContain(signature);
    for (const row of rows) {
      expect(Object.keys(row.headers)).not.toContain('x-globex-key');
      expect(Object.keys(row.headers)).not.toContain('x-partner-sig');
      expect(row.headers['x-trace']).toBe('kept');
    }
    const served = await app.graphql(`query ($id: ID!) { event(id: $id) { headers } }`, { id: ids[0] });
    expect(JSON.stringify(served)).not.toContain(token);
  });

  it('answers unknown providers from memory: no database query, no rate-limit bucket, no per-name state', async () => {
    const redis = new Redis(services.redisUrl!);
    const prefix = app.config.redis.keyPrefix;
    const keyNames = async () => new Set(await redis.keys(`${prefix}*`));
    const queriesBefore = await sql<{ n: string }[]>`
      select coalesce(sum(xact_commit + xact_rollback), 0)::text as n from pg_stat_database where datname = current_database()`;
    const keysBefore = await keyNames();
    const names = Array.from({ length: 1_000 }, () => `unknown-${randomUUID().slice(0, 18)}`);
    for (let index = 0; index < names.length; index += 100) {
      const answers = await Promise.all(names.slice(index, index + 100).map((name) => postWebhook(app.ingressUrl, name, '{}', {})));
      for (const answer of answers) expect(answer.status).toBe(404);
    }
    const keysAfter = await keyNames();
    await redis.quit();
    // No key that was not there before (earlier tests' buckets may expire or be given back meanwhile).
    expect([...keysAfter].filter((key) => !keysBefore.has(key))).toEqual([]);
    // Other roles poll the database on their own clocks; 2,000 lookups would add at least 1,000.
    const queriesAfter = await sql<{ n: string }[]>`
      select coalesce(sum(xact_commit + xact_rollback), 0)::text as n from pg_stat_database where datname = current_database()`;
    expect(Number(queriesAfter[0]!.n) - Number(queriesBefore[0]!.n)).toBeLessThan(300);
    // A new integration works at once: the creating instance reloads it and announces the change.
    const fresh = `fresh-${randomUUID().slice(0, 8)}`;
    await create({ provider: fresh, name: 'Fresh', verification: { scheme: 'SHARED_TOKEN', secret: token, header: 'x-globex-key' } });
    expect((await postWebhook(app.ingressUrl, fresh, '{"id":"f1"}', { 'x-globex-key': token })).status).toBe(202);
  });
});
