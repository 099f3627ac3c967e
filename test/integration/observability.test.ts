import { afterAll, beforeAll, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import postgres from 'postgres';
import { startApp, type RunningApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { keyId } from '../../src/graph/auth.js';
import { createLogger } from '../../src/log.js';
import { TEST_API_KEY, eventually } from '../helpers/app.js';
import { createHmacIntegration, destinationSecret, type InProcessApp } from '../helpers/app-on.js';
import { hookgateEnv } from '../helpers/child-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { parsePrometheusText, valueOf } from '../helpers/prometheus.js';
import { signers } from '../helpers/providers.js';
import { startReceiver } from '../helpers/receiver.js';
import { describeWithServices, services } from '../helpers/services.js';
import { postWebhook } from '../helpers/signing.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

const READ_KEY = 'read-only-dashboard-key-0123456789';
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

/**
 * Issue 15 on the real services: Prometheus metrics that count exactly what was sent, read-only
 * keys refused every mutation on every transport, and readiness that follows the database (cut
 * through a TCP proxy; the shared Postgres is never stopped) and the persist consumer.
 */
describeWithServices('metrics, read-only keys and readiness', ['kafka', 'postgres', 'redis'], () => {
  let database: TestDatabase;
  let sql: postgres.Sql;
  let app: RunningApp;
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let integration: { id: string; destinationIds: string[] };
  const secret = `acme-secret-${crypto.randomUUID()}`;

  const graphql = async <T>(query: string, variables: Record<string, unknown> = {}, key = TEST_API_KEY) => {
    const response = await fetch(`${app.managementUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-internal-api-key': key },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as { data?: T; errors?: { message: string }[] };
  };
  const inProcess: InProcessApp = { graphql: (query, variables) => graphql(query, variables), stop: async () => {} };
  const scrape = async (token: string | null = METRICS_TOKEN) =>
    fetch(`${app.managementUrl}/metrics`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  const metrics = async () => {
    const response = await scrape();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePrometheusText(await response.text());
  };
  const send = async (id: string, signature = true) => {
    const body = JSON.stringify({ id, type: 'invoice.paid' });
    const headers = signature ? await signers.HMAC_SHA256!(body, secret) : { 'x-acme-signature': 'sha256=00' };
    return postWebhook(app.ingressUrl!, 'acme', body, headers);
  };
  const ready = async () => {
    const response = await fetch(`${app.managementUrl}/api/v1/health/ready`);
    return { status: response.status, body: (await response.json()) as { status: string; dependencies: Record<string, string> } };
  };

  beforeAll(async () => {
    database = await createTestDatabase(services.testDatabaseUrl!);
    sql = postgres(database.url, { max: 1 });
    const target = new URL(database.url);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const proxied = new URL(database.url);
    proxied.port = String(proxy.port);
    receiver = await startReceiver();
    const env = hookgateEnv(proxied.toString(), {
      LOG_LEVEL: 'silent',
      INGRESS_PORT: '0',
      MANAGEMENT_PORT: '0',
      METRICS_PORT: '0',
      MANAGEMENT_READ_KEYS: READ_KEY,
      METRICS_TOKEN,
      DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
      DELIVERY_POLL_INTERVAL_MS: '200',
    });
    app = await startApp(loadConfig(env), createLogger({ level: 'silent' }));
    integration = await createHmacIntegration(inProcess, { provider: 'acme', secret, destinations: [{ url: `${receiver.url}/hooks`, secret: destinationSecret() }] });
  }, 60_000);

  afterAll(async () => {
    await app?.stop();
    await receiver?.stop();
    await proxy?.stop();
    await sql?.end();
    await database?.drop();
  });

  it('/metrics answers only the bearer token', async () => {
    expect((await scrape(null)).status).toBe(401);
    expect((await scrape('')).status).toBe(401);
    expect((await scrape('wrong-token-0123456789abcdef')).status).toBe(401);
    const refused = await scrape('wrong-token-0123456789abcdef');
    expect(await refused.text()).not.toContain(METRICS_TOKEN);
    expect((await scrape()).status).toBe(200);
  });

  it('counters move by exactly what the test sends', async () => {
    const before = await metrics();
    const accepted = 'hookgate_ingress_requests_total';
    const run = crypto.randomUUID();
    for (let i = 0; i < 3; i++) expect((await send(`${run}-${i}`)).status).toBe(202);
    for (let i = 0; i < 2; i++) expect((await send(`${run}-bad-${i}`, false)).status).toBe(401);
    expect((await postWebhook(app.ingressUrl!, `nobody-${run}`, '{}', {})).status).toBe(404);
    await graphql('query CountMe { viewer { actor } }');
    await graphql('query CountMe { viewer { actor } }');
    await eventually(async () => (receiver.received.length >= 3 ? true : undefined), 30_000);

    const after = await eventually(async () => {
      const now = await metrics();
      const delivered = valueOf(now, 'hookgate_deliveries_total', { outcome: 'SUCCEEDED' }) - valueOf(before, 'hookgate_deliveries_total', { outcome: 'SUCCEEDED' });
      return delivered >= 3 ? now : undefined;
    }, 30_000, 200);
    const moved = (name: string, labels: Record<string, string> = {}) => valueOf(after, name, labels) - valueOf(before, name, labels);
    expect(moved(accepted, { provider: 'acme', outcome: 'accepted' })).toBe(3);
    expect(moved(accepted, { provider: 'acme', outcome: 'SIGNATURE_INVALID' })).toBe(2);
    expect(moved(accepted, { provider: '(unknown)', outcome: 'NOT_FOUND' })).toBe(1);
    expect(moved('hookgate_ingress_produce_duration_seconds_count')).toBe(3);
    expect(moved('hookgate_ingress_body_bytes_count', { provider: 'acme' })).toBe(3);
    expect(moved('hookgate_persist_events_total', { result: 'inserted' })).toBe(3);
    expect(moved('hookgate_deliveries_total', { outcome: 'SUCCEEDED' })).toBe(3);
    expect(moved('hookgate_delivery_attempt_duration_seconds_count', { destination: integration.destinationIds[0]!, result: '2xx' })).toBe(3);
    expect(moved('hookgate_graphql_operations_total', { operation: 'CountMe', type: 'query', result: 'ok' })).toBe(2);
    // Scrape-time gauges exist, one lag series per partition; no label carries an event id or the key.
    expect(after.filter((sample) => sample.name === 'hookgate_persist_lag').map((sample) => sample.labels.partition).sort()).toEqual(['0', '1', '2']);
    expect(after.some((sample) => sample.name === 'hookgate_delivery_due_backlog')).toBe(true);
    const text = JSON.stringify(after);
    expect(text).not.toContain(run);
    expect(text).not.toContain(TEST_API_KEY);
  }, 60_000);

  it('a read-only key queries but every mutation answers ForbiddenError, over HTTP and WebSocket', async () => {
    const viewer = await graphql<{ viewer: { actor: string; readOnly: boolean } }>('{ viewer { actor readOnly } }', {}, READ_KEY);
    expect(viewer.data?.viewer).toEqual({ actor: `read-${keyId(READ_KEY)}`, readOnly: true });
    // Its own event, so this test does not lean on the one before it having stored any.
    const accepted = await send(`read-only-${crypto.randomUUID()}`);
    expect(accepted.status).toBe(202);
    const eventId = accepted.body.eventId as string;
    const event = await eventually(async () => (await sql<{ id: string }[]>`select id from events where id = ${eventId}::uuid`)[0], 30_000, 100);
    const mutation = `mutation ($input: RequestReplayInput!) { requestReplay(input: $input) { __typename ... on ForbiddenError { message actor } } }`;
    const input = { eventId: event.id, requestedBy: 'wall', reason: 'should be refused' };
    const refused = await graphql<{ requestReplay: { __typename: string; actor: string } }>(mutation, { input }, READ_KEY);
    expect(refused.data?.requestReplay).toMatchObject({ __typename: 'ForbiddenError', actor: `read-${keyId(READ_KEY)}` });
    expect(JSON.stringify(refused)).not.toContain(READ_KEY);
    const bulk = await graphql<{ replayEvents: { __typename: string } }>(
      'mutation { replayEvents(input: { filter: {}, dryRun: true, requestedBy: "wall", reason: "refused too" }) { __typename } }',
      {},
      READ_KEY,
    );
    expect(bulk.data?.replayEvents.__typename).toBe('ForbiddenError');

    const client = createClient({ url: `${app.managementUrl!.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { 'x-internal-api-key': READ_KEY }, retryAttempts: 0 });
    try {
      const overSocket = await new Promise<unknown>((resolve, reject) => {
        client.subscribe({ query: mutation, variables: { input } }, { next: (result) => resolve(result.data), error: reject, complete: () => undefined });
      });
      expect(overSocket).toMatchObject({ requestReplay: { __typename: 'ForbiddenError' } });
    } finally {
      await client.dispose();
    }
    // Nothing was replayed; the audit trail names the full key that acts, by its fingerprint only.
    expect((await sql`select id from replay_requests`).length).toBe(0);
    const allowed = await graphql<{ requestReplay: { __typename: string } }>(
      'mutation ($input: RequestReplayInput!) { requestReplay(input: $input) { __typename ... on Error { message } } }',
      { input: { ...input, reason: 'allowed' } },
    );
    expect(allowed.data?.requestReplay.__typename).toBe('RequestReplayPayload');
    const audit = await sql<{ actor: string; details: unknown }[]>`select actor, details from audit_entries where action like '%replay%'`;
    expect(audit.map((row) => row.actor)).toEqual([keyId(TEST_API_KEY)]);
    expect(JSON.stringify(audit)).not.toContain(TEST_API_KEY);
  });

  it('/ready follows the database and the persist consumer, and /live stays up', async () => {
    expect((await fetch(`${app.managementUrl}/api/v1/health/live`)).status).toBe(200);
    expect(await ready()).toMatchObject({ status: 200, body: { status: 'ready', dependencies: { postgres: 'up', persistConsumer: 'up', deliveryLoop: 'up' } } });

    proxy.cut();
    const down = await eventually(async () => {
      const answer = await ready();
      return answer.status === 503 ? answer : undefined;
    }, 20_000, 250);
    expect(down.body).toMatchObject({ status: 'not_ready', dependencies: { postgres: 'down' } });
    expect((await fetch(`${app.managementUrl}/api/v1/health/live`)).status).toBe(200);
    proxy.restore();
    await eventually(async () => ((await ready()).status === 200 ? true : undefined), 30_000, 250);

    await app.parts.persist!.stop();
    const stopped = await eventually(async () => {
      const answer = await ready();
      return answer.status === 503 ? answer : undefined;
    }, 20_000, 250);
    expect(stopped.body.dependencies).toMatchObject({ persistConsumer: 'down', postgres: 'up' });
    await app.parts.persist!.start();
    await eventually(async () => ((await ready()).status === 200 ? true : undefined), 30_000, 250);
    // Started again, it consumes again.
    const id = crypto.randomUUID();
    expect((await send(id)).status).toBe(202);
    await eventually(async () => ((await sql`select 1 from events where event_key = ${id}`).length === 1 ? true : undefined), 30_000, 200);
  }, 120_000);
});
