import { createClient } from 'graphql-ws';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually, startTestApp, TEST_API_KEY, type TestApp } from '../helpers/app.js';
import { signers } from '../helpers/providers.js';
import { startReceiver } from '../helpers/receiver.js';
import { openSse } from '../helpers/sse.js';
import { describeWithServices } from '../helpers/services.js';
import { postWebhook } from '../helpers/signing.js';

const DESTINATION_SECRET = `whsec_${Buffer.from('hookgate-graph-test-secret-0123456789').toString('base64')}`;

describeWithServices('GraphQL management API on the real services', ['kafka', 'postgres', 'redis'], () => {
  let app: TestApp;
  let sql: postgres.Sql;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let integrationId = '';
  let destinationId = '';
  const secret = `acme-secret-${crypto.randomUUID()}`;

  const send = async (payload: Record<string, unknown>) => {
    const body = JSON.stringify(payload);
    return postWebhook(app.ingressUrl, 'acme', body, await signers.HMAC_SHA256!(body, secret));
  };
  const wsUrl = () => `${app.managementUrl.replace('http', 'ws')}/graphql`;

  beforeAll(async () => {
    receiver = await startReceiver();
    app = await startTestApp({ DELIVERY_ALLOWED_HOSTS: '127.0.0.1', REPLAY_MAX_EVENTS: '100', RETRY_DELIVERY_COOLDOWN_SECONDS: '60' });
    sql = postgres(app.database.url, { max: 2 });
    const created = await app.graphql<{ createIntegration: { __typename: string; id: string; destinations: { id: string }[] } }>(
      `mutation ($input: CreateIntegrationInput!) {
         createIntegration(input: $input) { __typename ... on Integration { id destinations { id } } }
       }`,
      {
        input: {
          provider: 'acme',
          name: 'Acme',
          verification: { scheme: 'HMAC_SHA256', secret, eventKeyPath: '$.id' },
          destinations: [{ url: `${receiver.url}/in`, secret: DESTINATION_SECRET }],
          rateLimitPerMinute: 1_000_000,
        },
      },
    );
    expect(created.data?.createIntegration.__typename).toBe('Integration');
    integrationId = created.data!.createIntegration.id;
    destinationId = created.data!.createIntegration.destinations[0]!.id;
  });

  afterAll(async () => {
    await sql?.end();
    await app?.stop();
    await receiver?.stop();
  });

  it('requires the key on POST, GET and SSE, answering 401 with the error envelope', async () => {
    const query = encodeURIComponent('{ __typename }');
    const attempts = [
      fetch(`${app.managementUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' }),
      fetch(`${app.managementUrl}/graphql?query=${query}`),
      fetch(`${app.managementUrl}/graphql?query=${query}`, { headers: { accept: 'text/event-stream', 'x-internal-api-key': 'wrong-key-0123456789' } }),
    ];
    for (const response of await Promise.all(attempts)) {
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: { code: 'UNAUTHORIZED', requestId: expect.any(String) } });
    }
    const ok = await fetch(`${app.managementUrl}/graphql?query=${query}`, { headers: { 'x-internal-api-key': TEST_API_KEY } });
    expect(ok.status).toBe(200);
  });

  it('closes a WebSocket without the key with 4401, and with a wrong key with 4403, before any operation', async () => {
    const closeCode = (params: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const socket = new WebSocket(wsUrl(), 'graphql-transport-ws');
        socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: params })));
        socket.on('message', () => socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ __typename }' } })));
        socket.on('close', (code) => resolve(code));
      });
    expect(await closeCode({})).toBe(4401);
    expect(await closeCode({ 'x-internal-api-key': 'wrong-key-0123456789abcdef' })).toBe(4403);
  });

  it('follows a webhook from events to deliveries to a replay that reaches the receiver, audited and immutable', async () => {
    const response = await send({ id: 'graph-flow-1', type: 'order.created' });
    const eventId = response.body.eventId as string;
    await eventually(async () => (receiver.received.some((r) => r.headers['webhook-id'] === eventId) ? true : undefined));

    const found = await app.graphql<{ events: { edges: { node: { id: string; status: string; rawBody: string; deliveries: { id: string; status: string; attempts: { statusCode: number }[] }[] } }[] } }>(
      `query ($filter: EventFilter) { events(first: 5, filter: $filter) { edges { node {
         id status rawBody deliveries { id status attempts { statusCode } } } } } }`,
      { filter: { integrationId, eventKey: 'graph-flow-1' } },
    );
    const node = found.data!.events.edges[0]!.node;
    expect(node.id).toBe(eventId);
    expect(node.rawBody).toBe(JSON.stringify({ id: 'graph-flow-1', type: 'order.created' }));
    await eventually(async () => {
      const again = await app.graphql<{ event: { status: string; deliveries: { status: string; attempts: { statusCode: number }[] }[] } }>(
        `query ($id: ID!) { event(id: $id) { status deliveries { status attempts { statusCode } } } }`,
        { id: eventId },
      );
      return again.data?.event.status === 'DELIVERED' ? again : undefined;
    });

    const before = receiver.received.filter((r) => r.headers['webhook-id'] === eventId).length;
    const replay = await app.graphql<{ requestReplay: { __typename: string; replayRequest: { id: string }; deliveries: { id: string; trigger: string }[] } }>(
      `mutation ($input: RequestReplayInput!) { requestReplay(input: $input) { __typename
         ... on RequestReplayPayload { replayRequest { id } deliveries { id trigger } } } }`,
      { input: { eventId, requestedBy: '  alice@ops  ', reason: 'receiver lost its copy' } },
    );
    expect(replay.data?.requestReplay.__typename).toBe('RequestReplayPayload');
    expect(replay.data!.requestReplay.deliveries).toHaveLength(1);
    expect(replay.data!.requestReplay.deliveries[0]!.trigger).toBe('REPLAY');
    await eventually(async () => (receiver.received.filter((r) => r.headers['webhook-id'] === eventId).length > before ? true : undefined));

    const audit = await app.graphql<{ auditEntries: { edges: { node: { id: string; actor: string; requestId: string; sourceIp: string; details: Record<string, unknown> } }[] } }>(
      `query ($filter: AuditEntryFilter) { auditEntries(first: 5, filter: $filter) { edges { node { id actor requestId sourceIp details } } } }`,
      { filter: { action: 'event.replay_requested', targetType: 'event', targetId: eventId } },
    );
    const entry = audit.data!.auditEntries.edges[0]!.node;
    expect(entry.actor).toMatch(/^key:[0-9a-f]{12}$/);
    expect(entry.requestId).toBeTruthy();
    expect(entry.sourceIp).toBeTruthy();
    expect(entry.details).toMatchObject({ requestedBy: 'alice@ops', reason: 'receiver lost its copy' });
    expect(JSON.stringify(audit)).not.toContain(TEST_API_KEY);
    await expect(sql`update audit_entries set actor = 'mallory' where id = ${entry.id}`).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_entries where id = ${entry.id}`).rejects.toThrow(/append-only/);
  });

  it('validates replay input with field paths and reports an unknown event as not found', async () => {
    const result = await app.graphql<{ a: { __typename: string; fieldErrors?: { path: string[] }[] }; b: { __typename: string; resource?: string } }>(
      `mutation {
         a: requestReplay(input: { eventId: "00000000-0000-5000-8000-000000000000", requestedBy: "   ", reason: "x" }) {
           __typename ... on ValidationError { fieldErrors { path } } }
         b: requestReplay(input: { eventId: "00000000-0000-5000-8000-000000000000", requestedBy: "bob", reason: "checking" }) {
           __typename ... on NotFoundError { resource } }
       }`,
    );
    expect(result.data!.a.__typename).toBe('ValidationError');
    expect(result.data!.a.fieldErrors!.map((error) => error.path.join('.'))).toEqual(['input.requestedBy', 'input.reason']);
    expect(result.data!.b).toEqual({ __typename: 'NotFoundError', resource: 'Event' });
  });

  it('pages through 250 events forwards and backwards with no duplicates or gaps', async () => {
    const ids: string[] = [];
    for (let start = 0; start < 250; start += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, (_, i) => send({ id: `page-${start + i}` })));
      ids.push(...batch.map((response) => response.body.eventId as string));
    }
    await eventually(async () => {
      const [row] = await sql<{ count: number }[]>`select count(*)::int as count from events where event_key like 'page-%'`;
      return row!.count === 250 ? true : undefined;
    });
    type Page = { events: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string; startCursor: string } } };
    const query = `query ($first: Int, $after: String, $last: Int, $before: String, $filter: EventFilter) {
      events(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
        edges { node { id } } pageInfo { hasNextPage hasPreviousPage endCursor startCursor } } }`;
    const filter = { integrationId, receivedAfter: new Date(Date.now() - 600_000).toISOString() };
    const forward: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await app.graphql<Page>(query, { first: 40, after, filter });
      forward.push(...page.data!.events.edges.map((edge) => edge.node.id));
      if (!page.data!.events.pageInfo.hasNextPage) break;
      after = page.data!.events.pageInfo.endCursor;
    }
    const pageIds = forward.filter((id) => ids.includes(id));
    expect(pageIds).toHaveLength(250);
    expect(new Set(forward).size).toBe(forward.length);

    const backward: string[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await app.graphql<Page>(query, { last: 40, before, filter });
      backward.unshift(...page.data!.events.edges.map((edge) => edge.node.id));
      if (!page.data!.events.pageInfo.hasPreviousPage) break;
      before = page.data!.events.pageInfo.startCursor;
    }
    expect(backward).toEqual(forward);

    const tooMany = await app.graphql(query, { first: 101 });
    expect(tooMany.errors?.[0]?.message).toContain('between 0 and 100');
    const badCursor = await app.graphql(query, { first: 5, after: 'not-a-cursor' });
    expect(badCursor.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('refuses a bulk replay above the cap with a clear error, and completes one below it', async () => {
    const over = await app.graphql<{ replayEvents: { __typename: string; message: string } }>(
      `mutation ($input: ReplayEventsInput!) { replayEvents(input: $input) { __typename ... on Error { message } } }`,
      { input: { filter: { integrationId }, requestedBy: 'ops', reason: 'too broad' } },
    );
    expect(over.data!.replayEvents.__typename).toBe('ValidationError');
    expect(over.data!.replayEvents.message).toMatch(/at most 100/);

    const under = await app.graphql<{ replayEvents: { __typename: string; id: string; total: number } }>(
      `mutation ($input: ReplayEventsInput!) { replayEvents(input: $input) { __typename ... on ReplayRequest { id total } } }`,
      { input: { filter: { integrationId, eventKey: 'page-7' }, requestedBy: 'ops', reason: 'one more time' } },
    );
    expect(under.data!.replayEvents).toMatchObject({ __typename: 'ReplayRequest', total: 1 });
    await eventually(async () => {
      const status = await app.graphql<{ replayRequests: { edges: { node: { id: string; status: string; processed: number } }[] } }>(
        `{ replayRequests(first: 5) { edges { node { id status processed } } } }`,
      );
      const request = status.data!.replayRequests.edges.find((edge) => edge.node.id === under.data!.replayEvents.id)?.node;
      return request?.status === 'COMPLETED' && request.processed === 1 ? true : undefined;
    });
  });

  it('retries a FAILED delivery once, then refuses a second retry during the cooldown', async () => {
    receiver.respondWith((_req, res) => res.writeHead(400).end('no'));
    const response = await send({ id: 'will-fail' });
    const eventId = response.body.eventId as string;
    const [failed] = await eventually(async () => {
      const rows = await sql<{ id: string }[]>`select id from deliveries where event_id = ${eventId} and status = 'FAILED'`;
      return rows.length === 1 ? rows : undefined;
    });
    receiver.respondWith((_req, res) => res.writeHead(200).end('ok'));
    const retry = (deliveryId: string) =>
      app.graphql<{ retryDelivery: { __typename: string; id?: string; trigger?: string; message?: string } }>(
        `mutation ($input: RetryDeliveryInput!) { retryDelivery(input: $input) { __typename ... on Delivery { id trigger } ... on Error { message } } }`,
        { input: { deliveryId, requestedBy: 'ops', reason: 'receiver fixed' } },
      );
    const first = await retry(failed!.id);
    expect(first.data!.retryDelivery).toMatchObject({ __typename: 'Delivery', trigger: 'RETRY' });
    const second = await retry(failed!.id);
    expect(second.data!.retryDelivery.__typename).toBe('ConflictError');
    await eventually(async () => {
      const rows = await sql`select 1 from deliveries where id = ${first.data!.retryDelivery.id!} and status = 'SUCCEEDED'`;
      return rows.length === 1 ? true : undefined;
    });
    const notFailed = await retry(first.data!.retryDelivery.id!);
    expect(notFailed.data!.retryDelivery.__typename).toBe('ConflictError');
  });

  it('streams deliveryStatusChanged to a graphql-ws client and an SSE client within a second', async () => {
    const subscription = `subscription ($filter: DeliveryStatusChangedFilter) {
      deliveryStatusChanged(filter: $filter) { deliveryId eventId status previousStatus at delivery { id status attemptCount } } }`;
    const wsSeen: { status: string; eventId: string; at: number }[] = [];
    const client = createClient({ url: wsUrl(), webSocketImpl: WebSocket, connectionParams: { 'x-internal-api-key': TEST_API_KEY }, lazy: false });
    const stopWs = client.subscribe<{ deliveryStatusChanged: { status: string; eventId: string } }>(
      { query: subscription, variables: { filter: { integrationId } } },
      {
        next: (value) => wsSeen.push({ ...value.data!.deliveryStatusChanged, at: Date.now() }),
        error: () => {},
        complete: () => {},
      },
    );

    const sseSeen: { status: string; eventId: string; at: number }[] = [];
    const sse = await openSse<{ deliveryStatusChanged: { status: string; eventId: string } }>(
      `${app.managementUrl}/graphql`,
      TEST_API_KEY,
      { query: subscription, variables: { filter: { integrationId } } },
      (data) => sseSeen.push({ ...data.deliveryStatusChanged, at: Date.now() }),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));

    try {
      const response = await send({ id: 'live-status' });
      const eventId = response.body.eventId as string;
      const delivered = await eventually(async () => receiver.received.find((r) => r.headers['webhook-id'] === eventId)?.at, 10_000, 10);
      const wsDone = await eventually(async () => wsSeen.find((s) => s.eventId === eventId && s.status === 'SUCCEEDED'), 5000, 10);
      const sseDone = await eventually(async () => sseSeen.find((s) => s.eventId === eventId && s.status === 'SUCCEEDED'), 5000, 10);
      expect(wsDone.at - delivered).toBeLessThan(1000);
      expect(sseDone.at - delivered).toBeLessThan(1000);
      expect(wsSeen.filter((s) => s.eventId === eventId).map((s) => s.status)).toEqual(['IN_FLIGHT', 'SUCCEEDED']);
    } finally {
      stopWs();
      sse.close();
      await client.dispose();
    }
  });

  it('shows a live graphql-ws subscriber the destination as it is now, not as it was when it subscribed', async () => {
    const seen: { eventId: string; status: string; delivery: { destination: { url: string } } | null }[] = [];
    const client = createClient({ url: wsUrl(), webSocketImpl: WebSocket, connectionParams: { 'x-internal-api-key': TEST_API_KEY }, lazy: false });
    const stop = client.subscribe<{ deliveryStatusChanged: (typeof seen)[number] }>(
      {
        query: `subscription ($filter: DeliveryStatusChangedFilter) {
          deliveryStatusChanged(filter: $filter) { eventId status delivery { destination { url } } } }`,
        variables: { filter: { integrationId, status: 'SUCCEEDED' } },
      },
      { next: (value) => seen.push(value.data!.deliveryStatusChanged), error: () => {}, complete: () => {} },
    );
    const setUrl = (url: string) =>
      app.graphql(`mutation ($input: UpdateDestinationInput!) { updateDestination(input: $input) { __typename } }`, { input: { id: destinationId, url } });
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const first = (await send({ id: 'fresh-1' })).body.eventId as string;
      const before = await eventually(async () => seen.find((s) => s.eventId === first), 10_000, 10);
      expect(before.delivery?.destination.url).toBe(`${receiver.url}/in`);
      await setUrl(`${receiver.url}/moved`);
      const second = (await send({ id: 'fresh-2' })).body.eventId as string;
      const after = await eventually(async () => seen.find((s) => s.eventId === second), 10_000, 10);
      expect(after.delivery?.destination.url).toBe(`${receiver.url}/moved`);
    } finally {
      stop();
      await client.dispose();
      await setUrl(`${receiver.url}/in`);
    }
  });

  it('refuses over-deep, over-costly and alias-flooded operations', async () => {
    const deep = await app.graphql(`{ events { edges { node { deliveries { event { deliveries { event { deliveries { event { deliveries { id } } } } } } } } } } }`);
    expect(deep.errors?.[0]?.message).toMatch(/depth/i);
    const aliases = Array.from({ length: 30 }, (_, i) => `a${i}: processingStatus { deadLetteredCount }`).join(' ');
    const flooded = await app.graphql(`{ ${aliases} }`);
    expect(flooded.errors?.[0]?.message).toMatch(/alias/i);
    const costly = await app.graphql(
      `{ ${Array.from({ length: 10 }, (_, i) => `e${i}: events(first: 100) { edges { node { deliveries { attempts { statusCode } destination { url } } } } }`).join(' ')} }`,
    );
    expect(costly.errors?.[0]?.message).toMatch(/cost/i);
  });

  it('never exposes a secret through the API', async () => {
    const result = await app.graphql(`{ integration(provider: "acme") { id verification { scheme header } destinations { id url } secretRotatedAt } }`);
    const text = JSON.stringify(result);
    expect(text).not.toContain(secret);
    expect(text).not.toContain(DESTINATION_SECRET);
    expect(text).toContain(destinationId);
    const introspection = await app.graphql(`{ __type(name: "Destination") { fields { name } } }`);
    const names = (introspection.data as { __type: { fields: { name: string }[] } }).__type.fields.map((field) => field.name);
    expect(names).not.toContain('secret');
  });

  it('answers processingStatus with counts, lag per partition and dead letters', async () => {
    const status = await app.graphql<{ processingStatus: { deliveriesByStatus: { status: string; count: number }[]; persistLag: { partition: number; lag: string }[]; deadLetteredCount: number } }>(
      `{ processingStatus { deliveriesByStatus { status count } oldestPendingDeliveryAgeSeconds persistLag { partition committedOffset endOffset lag } deadLetteredCount } }`,
    );
    expect(status.errors).toBeUndefined();
    expect(status.data!.processingStatus.deliveriesByStatus.find((row) => row.status === 'SUCCEEDED')?.count).toBeGreaterThan(0);
    expect(status.data!.processingStatus.persistLag).toHaveLength(app.config.kafka.partitions);
    expect(status.data!.processingStatus.deadLetteredCount).toBe(0);
  });
});
