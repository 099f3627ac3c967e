import { Kafka, logLevel } from 'kafkajs';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { describeWithServices, services } from '../helpers/services.js';
import { hexHmac, postWebhook } from '../helpers/signing.js';

const ACME_SECRET = 'acme-secret-0123456789';
const GLOBEX_TOKEN = 'globex-token-0123456789';

describeWithServices('webhook spine: ingress → Kafka → Postgres → GraphQL (real services)', ['kafka', 'postgres', 'redis'], () => {
  let app: TestApp;
  let sql: postgres.Sql;
  let kafka: Kafka;

  const topicMessageCount = async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(app.config.kafka.topic);
      return offsets.reduce((sum, partition) => sum + Number(partition.high) - Number(partition.low), 0);
    } finally {
      await admin.disconnect();
    }
  };

  const createIntegration = async (input: Record<string, unknown>) => {
    const result = await app.graphql<{ createIntegration: Record<string, unknown> }>(
      `mutation ($input: CreateIntegrationInput!) {
         createIntegration(input: $input) {
           __typename
           ... on Integration { id provider verification { scheme header } }
           ... on ValidationError { message fieldErrors { path message } }
           ... on ConflictError { message }
         }
       }`,
      { input },
    );
    return result.data!.createIntegration;
  };

  beforeAll(async () => {
    app = await startTestApp();
    sql = postgres(app.database.url, { max: 2, onnotice: () => {} });
    kafka = new Kafka({ brokers: services.kafkaBrokers!.split(','), logLevel: logLevel.NOTHING });
    const acme = await createIntegration({
      provider: 'acme',
      name: 'Acme',
      verification: { scheme: 'HMAC_SHA256', secret: ACME_SECRET },
    });
    expect(acme).toMatchObject({ __typename: 'Integration', provider: 'acme' });
    const globex = await createIntegration({
      provider: 'globex',
      name: 'Globex',
      verification: { scheme: 'SHARED_TOKEN', secret: GLOBEX_TOKEN },
    });
    expect(globex).toMatchObject({ __typename: 'Integration', provider: 'globex' });
  });

  afterAll(async () => {
    await sql?.end();
    await app?.stop();
  });

  it('stores a signed acme webhook that the events query returns', async () => {
    const body = JSON.stringify({ id: 'order-1', type: 'order.created', total: 42 });
    const response = await postWebhook(app.ingressUrl, 'acme', body, { 'x-acme-signature': `sha256=${hexHmac(ACME_SECRET, body)}` });
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ eventId: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'accepted' });

    const node = await eventually(async () => {
      const result = await app.graphql<{ events: { edges: { node: Record<string, unknown> }[] } }>(
        `{ events(first: 10, filter: { provider: "acme" }) { edges { node { id provider eventKey eventType receivedAt payload } } } }`,
      );
      return result.data!.events.edges.find((edge) => edge.node.id === response.body.eventId)?.node;
    });
    expect(node).toMatchObject({ provider: 'acme', eventType: 'order.created', payload: { id: 'order-1', type: 'order.created', total: 42 } });
    expect(node.eventKey).toMatch(/^sha256:/);

    const [row] = await sql<{ raw_body: Buffer; kafka_offset: string | null }[]>`
      select raw_body, kafka_offset from events where id = ${response.body.eventId as string}`;
    expect(row!.raw_body.toString()).toBe(body);
    expect(row!.kafka_offset).not.toBeNull();
  });

  it('answers a duplicate with the same event id and stores it once', async () => {
    const body = JSON.stringify({ id: 'order-2', type: 'order.created' });
    const headers = { 'x-acme-signature': hexHmac(ACME_SECRET, body) };
    const first = await postWebhook(app.ingressUrl, 'acme', body, headers);
    const second = await postWebhook(app.ingressUrl, 'acme', body, headers);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.eventId).toBe(first.body.eventId);
    await eventually(async () => {
      const [row] = await sql<{ count: number }[]>`select count(*)::int as count from events where id = ${first.body.eventId as string}`;
      return row!.count === 1 ? true : undefined;
    });
    // Both messages reached Kafka; give the consumer time to process the second, then count again.
    await eventually(async () => {
      const [job] = await sql<{ count: number }[]>`select count(*)::int as count from audit_entries where action = 'event.received' and target_id = ${first.body.eventId as string}`;
      return job!.count === 1 ? true : undefined;
    });
    const [row] = await sql<{ count: number }[]>`select count(*)::int as count from events where provider = 'acme' and payload->>'id' = 'order-2'`;
    expect(row!.count).toBe(1);
  });

  it('rejects a bad signature with the error envelope and produces nothing', async () => {
    const before = await topicMessageCount();
    const body = JSON.stringify({ id: 'order-3' });
    const response = await postWebhook(app.ingressUrl, 'acme', body, { 'x-acme-signature': hexHmac('not-the-secret-0123', body) });
    expect(response.status).toBe(401);
    expect(response.body).toEqual({
      error: { code: 'SIGNATURE_INVALID', message: expect.any(String), requestId: expect.any(String) },
    });
    expect(JSON.stringify(response.body)).not.toContain(ACME_SECRET);
    expect(await topicMessageCount()).toBe(before);
  });

  it('accepts a globex webhook carrying its shared token, and refuses a wrong token', async () => {
    const body = JSON.stringify({ kind: 'invoice.paid', invoice: 7 });
    const accepted = await postWebhook(app.ingressUrl, 'globex', body, { 'x-globex-token': GLOBEX_TOKEN });
    expect(accepted.status).toBe(202);
    const refused = await postWebhook(app.ingressUrl, 'globex', body, { 'x-globex-token': 'wrong-token-0123456789' });
    expect(refused.status).toBe(401);
    await eventually(async () => {
      const [row] = await sql<{ count: number }[]>`select count(*)::int as count from events where id = ${accepted.body.eventId as string}`;
      return row!.count === 1 ? true : undefined;
    });
  });

  it('answers an unknown provider with 404', async () => {
    const response = await postWebhook(app.ingressUrl, 'nobody', '{}', {});
    expect(response.status).toBe(404);
    expect((response.body.error as Record<string, unknown>).code).toBe('NOT_FOUND');
  });

  it('refuses GraphQL without the right key, and serves no /graphql on the ingress listener', async () => {
    for (const key of [undefined, 'wrong-key-0123456789abcdef']) {
      const response = await fetch(`${app.managementUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(key ? { 'x-internal-api-key': key } : {}) },
        body: JSON.stringify({ query: '{ events { edges { node { id } } } }' }),
      });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    }
    const ingress = await fetch(`${app.ingressUrl}/graphql`, { method: 'POST', body: '{}' });
    expect(ingress.status).toBe(404);
  });

  it('reports a duplicate provider as a typed conflict and bad input with field paths', async () => {
    const conflict = await createIntegration({ provider: 'acme', name: 'Again', verification: { scheme: 'HMAC_SHA256', secret: ACME_SECRET } });
    expect(conflict).toMatchObject({ __typename: 'ConflictError' });
    const invalid = await createIntegration({ provider: 'Bad Slug', name: 'x', verification: { scheme: 'HMAC_SHA256', secret: 'short' } });
    expect(invalid.__typename).toBe('ValidationError');
    const paths = (invalid.fieldErrors as { path: string[] }[]).map((error) => error.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['input.provider', 'input.verification.secret']));
  });

  it('refuses a destination whose name resolves to a loopback address when it is not allow-listed', async () => {
    const result = await app.graphql<{ createIntegration: { __typename: string; fieldErrors?: { path: string[]; message: string }[] } }>(
      `mutation ($input: CreateIntegrationInput!) {
         createIntegration(input: $input) { __typename ... on ValidationError { fieldErrors { path message } } }
       }`,
      {
        input: {
          provider: 'loopback-by-name',
          name: 'x',
          verification: { scheme: 'HMAC_SHA256', secret: ACME_SECRET },
          destinations: [{ url: 'http://localhost:9/hook' }],
        },
      },
    );
    expect(result.data?.createIntegration.__typename).toBe('ValidationError');
    expect(result.data?.createIntegration.fieldErrors?.[0]).toMatchObject({
      path: ['input', 'destinations', '0', 'url'],
      message: expect.stringMatching(/loopback/),
    });
  });

  it('reports every dependency as up on the health endpoint', async () => {
    const response = await fetch(`${app.ingressUrl}/api/v1/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', mode: 'test', dependencies: { postgres: 'up', redis: 'up', kafka: 'up' } });
  });
});
