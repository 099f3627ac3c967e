import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually, TEST_API_KEY } from '../helpers/app.js';
import { startAppOn, type InProcessApp } from '../helpers/app-on.js';
import { signers } from '../helpers/providers.js';
import { startReceiver } from '../helpers/receiver.js';
import { postWebhook } from '../helpers/signing.js';

const DESTINATION_SECRET = `whsec_${Buffer.from('hookgate-embedded-e2e-secret-0123456789').toString('base64')}`;

// No service at all: PGlite, the in-memory coordination and the in-process event log.
describe('end to end on the embedded backends (no Kafka, Postgres or Redis)', () => {
  let app: InProcessApp;
  let dataDir: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const secret = `acme-secret-${crypto.randomUUID()}`;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'hookgate-e2e-'));
    receiver = await startReceiver();
    app = await startAppOn({
      NODE_ENV: 'test',
      HOOKGATE_DATA_DIR: dataDir,
      MANAGEMENT_API_KEY: TEST_API_KEY,
      DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
    });
    const created = await app.graphql<{ createIntegration: { __typename: string } }>(
      `mutation ($input: CreateIntegrationInput!) { createIntegration(input: $input) { __typename ... on Error { message } } }`,
      {
        input: {
          provider: 'acme',
          name: 'Acme',
          verification: { scheme: 'HMAC_SHA256', secret, eventKeyPath: '$.id' },
          destinations: [{ url: `${receiver.url}/in`, secret: DESTINATION_SECRET }],
        },
      },
    );
    expect(created.data?.createIntegration.__typename).toBe('Integration');
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await receiver?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('stores before answering 202, delivers signed, replays, and streams the status changes', async () => {
    const seen: { status: string; eventId: string }[] = [];
    const client = createClient({ url: `${app.managementUrl!.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { 'x-internal-api-key': TEST_API_KEY } });
    const stop = client.subscribe<{ deliveryStatusChanged: { status: string; eventId: string } }>(
      { query: 'subscription { deliveryStatusChanged { eventId status } }' },
      { next: (value) => seen.push(value.data!.deliveryStatusChanged), error: () => {}, complete: () => {} },
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    try {
      const body = JSON.stringify({ id: 'embedded-1', type: 'order.created' });
      const response = await postWebhook(app.ingressUrl!, 'acme', body, await signers.HMAC_SHA256!(body, secret));
      expect(response.status).toBe(202);
      const eventId = response.body.eventId as string;

      // The embedded log answers only after the persist step committed: the event is there already.
      const stored = await app.graphql<{ event: { id: string; rawBody: string } | null }>(`query ($id: ID!) { event(id: $id) { id rawBody } }`, { id: eventId });
      expect(stored.data?.event).toEqual({ id: eventId, rawBody: body });

      const duplicate = await postWebhook(app.ingressUrl!, 'acme', body, await signers.HMAC_SHA256!(body, secret));
      expect(duplicate.body.eventId).toBe(eventId);

      await eventually(async () => (receiver.received.length >= 1 ? true : undefined));
      expect(() => new Webhook(DESTINATION_SECRET).verify(receiver.received[0]!.body, receiver.received[0]!.headers)).not.toThrow();

      const replay = await app.graphql<{ requestReplay: { __typename: string } }>(
        `mutation ($input: RequestReplayInput!) { requestReplay(input: $input) { __typename } }`,
        { input: { eventId, requestedBy: 'e2e', reason: 'embedded replay' } },
      );
      expect(replay.data?.requestReplay.__typename).toBe('RequestReplayPayload');
      await eventually(async () => (receiver.received.length >= 2 ? true : undefined));
      expect(receiver.received.every((request) => request.headers['webhook-id'] === eventId)).toBe(true);

      await eventually(async () => (seen.filter((change) => change.eventId === eventId && change.status === 'SUCCEEDED').length >= 2 ? true : undefined));
      const events = await app.graphql<{ events: { edges: { node: { id: string; status: string } }[] } }>(`{ events(first: 5) { edges { node { id status } } } }`);
      expect(events.data?.events.edges).toEqual([{ node: { id: eventId, status: 'DELIVERED' } }]);
    } finally {
      stop();
      await client.dispose();
    }
  });
});
