import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { startPrivateRedis } from '../helpers/processes.js';
import { secretFor, signers } from '../helpers/providers.js';
import { describeWithServices } from '../helpers/services.js';
import { postWebhook } from '../helpers/signing.js';

/** Issue 12 item 7: a Redis outage is one line when it starts and one, with a count, when it ends. */
describeWithServices('outage logs per change of state (private redis-server killed and restarted)', ['kafka', 'postgres', 'redis'], () => {
  let app: TestApp;
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  const lines: { level: string; msg: string; dependency?: string; failures?: number }[] = [];
  const secret = secretFor('HMAC_SHA256');

  const send = async (id: string) => {
    const body = JSON.stringify({ id });
    return postWebhook(app.ingressUrl, 'acme', body, await signers.HMAC_SHA256!(body, secret));
  };

  beforeAll(async () => {
    redis = await startPrivateRedis();
    app = await startTestApp(
      { REDIS_URL: redis.url, HOOKGATE_ROLE: 'ingress,persist,graph', LOG_LEVEL: 'info' },
      { logWrite: (line) => void lines.push(JSON.parse(line) as (typeof lines)[number]) },
    );
    await app.graphql(`mutation ($input: CreateIntegrationInput!) { createIntegration(input: $input) { __typename } }`, {
      // Under 100 per minute the ingress takes one request per round trip from the shared bucket
      // (no lease of a block it could admit from during the outage), so every webhook meets it.
      input: { provider: 'acme', name: 'Acme', rateLimitPerMinute: 90, verification: { scheme: 'HMAC_SHA256', secret, eventKeyPath: '$.id' } },
    });
  });

  afterAll(async () => {
    await app?.stop();
    await redis?.stop();
  });

  it('logs the rate limiter, markers and locks once each per outage, with a count at the end', async () => {
    expect((await send('before')).status).toBe(202);
    await redis.stop();
    const sent = 60;
    for (let index = 0; index < sent; index += 1) expect((await send(`during-${index}`)).status).toBe(202);
    const during = lines.filter((line) => line.level === 'warn' || line.level === 'error');
    const about = (dependency: string, pattern: RegExp) => lines.filter((line) => line.dependency === dependency && pattern.test(line.msg));
    expect(about('rate limiter', /unavailable/)).toHaveLength(1);
    expect(about('markers', /unavailable/).length).toBeLessThanOrEqual(1);
    expect(about('locks', /unavailable/).length).toBeLessThanOrEqual(1);
    expect(about('notification publishing', /unavailable/).length).toBeLessThanOrEqual(1);
    // Far fewer lines than webhooks: nothing is logged per request.
    expect(during.length).toBeLessThan(sent / 2);

    redis = await startPrivateRedis(redis.port);
    await eventually(async () => ((await fetch(`${app.ingressUrl}/api/v1/health`)).status === 200 ? true : undefined), 20_000, 250);
    expect((await send('after')).status).toBe(202);
    const back = await eventually(async () => about('rate limiter', /available again/)[0], 10_000, 50);
    expect(back.failures).toBeGreaterThanOrEqual(sent);
    expect(about('rate limiter', /unavailable/)).toHaveLength(1);
  });
});
