import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually, TEST_API_KEY } from '../helpers/app.js';
import { createHmacIntegration, destinationSecret, startAppOn, type InProcessApp } from '../helpers/app-on.js';
import { hookgateEnv, spawnHookgate, whenReady, type HookgateChild } from '../helpers/child-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { signers } from '../helpers/providers.js';
import { startReceiver } from '../helpers/receiver.js';
import { openSse } from '../helpers/sse.js';
import { describeWithServices, services } from '../helpers/services.js';
import { postWebhook } from '../helpers/signing.js';

describeWithServices('subscriptions across processes (worker in a child, subscriber here)', ['kafka', 'postgres', 'redis'], () => {
  let database: TestDatabase;
  let graph: InProcessApp;
  let worker: HookgateChild;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let ingressUrl = '';
  const secret = `acme-secret-${crypto.randomUUID()}`;

  beforeAll(async () => {
    database = await createTestDatabase(services.testDatabaseUrl!);
    receiver = await startReceiver();
    const env = hookgateEnv(database.url, { DELIVERY_ALLOWED_HOSTS: '127.0.0.1' });
    graph = await startAppOn({ ...env, HOOKGATE_ROLE: 'graph' });
    worker = await whenReady(await spawnHookgate({ ...env, HOOKGATE_ROLE: 'ingress,persist,delivery' }, { name: 'worker' }));
    ingressUrl = (await worker.ready).ingress!;
    await createHmacIntegration(graph, { provider: 'acme', secret, destinations: [{ url: `${receiver.url}/in`, secret: destinationSecret() }] });
  });

  afterAll(async () => {
    await worker?.kill('SIGTERM');
    await graph?.stop();
    await receiver?.stop();
    await database?.drop();
  });

  it('delivers deliveryStatusChanged and eventReceived made by another process to graphql-ws and SSE clients', async () => {
    const seenWs: { status: string; eventId: string; at: number }[] = [];
    const receivedWs: string[] = [];
    const client = createClient({
      url: `${graph.managementUrl!.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { 'x-internal-api-key': TEST_API_KEY },
    });
    const stopStatus = client.subscribe<{ deliveryStatusChanged: { status: string; eventId: string } }>(
      { query: 'subscription { deliveryStatusChanged { eventId status } }' },
      { next: (value) => seenWs.push({ ...value.data!.deliveryStatusChanged, at: Date.now() }), error: () => {}, complete: () => {} },
    );
    const stopEvents = client.subscribe<{ eventReceived: { id: string; provider: string } }>(
      { query: 'subscription { eventReceived(provider: "acme") { id provider } }' },
      { next: (value) => receivedWs.push(value.data!.eventReceived.id), error: () => {}, complete: () => {} },
    );

    const seenSse: { status: string; eventId: string; at: number }[] = [];
    const sse = await openSse<{ deliveryStatusChanged: { status: string; eventId: string } }>(
      `${graph.managementUrl!}/graphql`,
      TEST_API_KEY,
      { query: 'subscription { deliveryStatusChanged { eventId status } }' },
      (data) => seenSse.push({ ...data.deliveryStatusChanged, at: Date.now() }),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));

    try {
      const body = JSON.stringify({ id: 'across-processes' });
      const response = await postWebhook(ingressUrl, 'acme', body, await signers.HMAC_SHA256!(body, secret));
      expect(response.status).toBe(202);
      const eventId = response.body.eventId as string;
      const delivered = await eventually(async () => receiver.received.find((r) => r.headers['webhook-id'] === eventId)?.at, 15_000, 10);
      const viaWs = await eventually(async () => seenWs.find((s) => s.eventId === eventId && s.status === 'SUCCEEDED'), 5000, 10);
      const viaSse = await eventually(async () => seenSse.find((s) => s.eventId === eventId && s.status === 'SUCCEEDED'), 5000, 10);
      expect(viaWs.at - delivered).toBeLessThan(1000);
      expect(viaSse.at - delivered).toBeLessThan(1000);
      await eventually(async () => (receivedWs.includes(eventId) ? true : undefined), 5000, 10);
    } finally {
      stopStatus();
      stopEvents();
      sse.close();
      await client.dispose();
    }
  });
});
