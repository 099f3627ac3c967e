import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { kafkaBroker } from '../helpers/processes.js';
import { secretFor, signers } from '../helpers/providers.js';
import { describeWithServices } from '../helpers/services.js';
import { postWebhook } from '../helpers/signing.js';

const PUBLISH_TIMEOUT_MS = 2000;

describeWithServices('Kafka broker outage (stops and restarts the local broker)', ['kafka', 'postgres', 'redis'], () => {
  let app: TestApp;
  let sql: postgres.Sql;
  let brokerStopped = false;
  const secret = secretFor('HMAC_SHA256');
  const acceptedIds = new Set<string>();

  const send = async (label: string) => {
    const body = JSON.stringify({ id: `${label}-${crypto.randomUUID()}` });
    const started = Date.now();
    const response = await postWebhook(app.ingressUrl, 'acme', body, await signers.HMAC_SHA256!(body, secret));
    if (response.status === 202) acceptedIds.add(response.body.eventId as string);
    return { ...response, ms: Date.now() - started };
  };

  beforeAll(async () => {
    app = await startTestApp({ INGRESS_PUBLISH_TIMEOUT_MS: String(PUBLISH_TIMEOUT_MS), HOOKGATE_ROLE: 'ingress,persist,graph' });
    sql = postgres(app.database.url, { max: 2 });
    const created = await app.graphql<{ createIntegration: { __typename: string } }>(
      `mutation ($input: CreateIntegrationInput!) { createIntegration(input: $input) { __typename } }`,
      { input: { provider: 'acme', name: 'Acme', verification: { scheme: 'HMAC_SHA256', secret }, rateLimitPerMinute: 100_000 } },
    );
    expect(created.data?.createIntegration.__typename).toBe('Integration');
  });

  afterAll(async () => {
    // Whatever happened, leave the shared broker running for everything after us.
    if (brokerStopped) await kafkaBroker('start');
    await sql?.end();
    await app?.stop();
  });

  it('answers 503 with Retry-After in bounded time while the broker is down, and recovers by itself', async () => {
    for (let i = 0; i < 10; i++) expect((await send('before')).status).toBe(202);

    await kafkaBroker('stop');
    brokerStopped = true;

    const during = await Promise.all(Array.from({ length: 20 }, () => send('during')));
    for (const response of during) {
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
      expect((response.body.error as { code: string }).code).toBe('SERVICE_UNAVAILABLE');
      expect(response.ms).toBeLessThan(PUBLISH_TIMEOUT_MS + 2000);
    }
    const health = await fetch(`${app.ingressUrl}/api/v1/health`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { dependencies: Record<string, string> }).dependencies.kafka).toBe('down');

    await kafkaBroker('start');
    brokerStopped = false;

    // No restart of Hookgate: the same process must start accepting again on its own.
    await eventually(async () => ((await send('recovering')).status === 202 ? true : undefined), 90_000, 500);
    const after = await Promise.all(Array.from({ length: 10 }, () => send('after')));
    expect(after.map((response) => response.status)).toEqual(Array(10).fill(202));
    await eventually(async () => ((await fetch(`${app.ingressUrl}/api/v1/health`)).status === 200 ? true : undefined), 30_000, 250);
  });

  it('stored every event it answered 202 for (a 2xx always meant the broker had it)', async () => {
    expect(acceptedIds.size).toBeGreaterThanOrEqual(21);
    const ids = [...acceptedIds];
    await eventually(
      async () => {
        const [row] = await sql<{ count: number }[]>`select count(*)::int as count from events where id = any(${ids}::uuid[])`;
        return row!.count === ids.length ? true : undefined;
      },
      90_000,
      500,
    );
  });
});
