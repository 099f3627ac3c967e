import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { describeWithServices } from '../helpers/services.js';
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
});
