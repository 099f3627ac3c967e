import postgres from 'postgres';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, startTestApp, TEST_API_KEY, type TestApp } from '../helpers/app.js';
import { signers } from '../helpers/providers.js';
import { startReceiver } from '../helpers/receiver.js';
import { openSse } from '../helpers/sse.js';
import { describeWithServices } from '../helpers/services.js';
import { postWebhook } from '../helpers/signing.js';

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

const OPERATOR_SECRET = `whsec_${Buffer.from('hookgate-operator-notifications-secret-0123').toString('base64')}`;
const DESTINATION_FIELDS = `id eventTypes headerNames signingSecret health maxPerSecond maxConcurrency previousSecretExpiresAt`;

describeWithServices('destination policies on real Kafka, Postgres and Redis', ['kafka', 'postgres', 'redis'], () => {
  let app: TestApp;
  let sql: postgres.Sql;
  let operator: Receiver;
  const receivers: Receiver[] = [];
  const streams: { close(): void }[] = [];
  let counter = 0;

  const receiver = async (...args: Parameters<typeof startReceiver>) => {
    const started = await startReceiver(...args);
    receivers.push(started);
    return started;
  };

  /** An integration (event type at $.type) with the given destinations; returns them and a sender. */
  async function integrationWith(destinations: Record<string, unknown>[]) {
    counter += 1;
    const provider = `policy-${counter}`;
    const secret = `policy-secret-${crypto.randomUUID()}`;
    const result = await app.graphql<{ createIntegration: { __typename: string; id: string; destinations: Record<string, unknown>[] } }>(
      `mutation ($input: CreateIntegrationInput!) {
         createIntegration(input: $input) { __typename ... on Integration { id destinations { ${DESTINATION_FIELDS} } } ... on Error { message } }
       }`,
      {
        input: {
          provider,
          name: provider,
          verification: { scheme: 'HMAC_SHA256', secret, eventKeyPath: '$.id', eventTypePath: '$.type' },
          destinations,
          rateLimitPerMinute: 1_000_000,
        },
      },
    );
    expect(result.data?.createIntegration.__typename, JSON.stringify(result)).toBe('Integration');
    const send = async (payload: Record<string, unknown>) => {
      const body = JSON.stringify(payload);
      const response = await postWebhook(app.ingressUrl, provider, body, await signers.HMAC_SHA256!(body, secret));
      expect(response.status).toBe(202);
      return response.body.eventId as string;
    };
    return { integrationId: result.data!.createIntegration.id, destinations: result.data!.createIntegration.destinations, send };
  }

  const settled = (integrationId: string, expected: number) =>
    eventually(
      async () => {
        const [row] = await sql<{ open: number; total: number }[]>`
          select count(*) filter (where status not in ('SUCCEEDED', 'FAILED', 'CANCELLED'))::int as open, count(*)::int as total
          from deliveries where integration_id = ${integrationId}`;
        return row!.total === expected && row!.open === 0 ? true : undefined;
      },
      30_000,
      100,
    );

  beforeAll(async () => {
    operator = await receiver();
    app = await startTestApp({
      OPERATOR_WEBHOOK_URL: `${operator.url}/notifications`,
      OPERATOR_WEBHOOK_SECRET: OPERATOR_SECRET,
      DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
      DELIVERY_TIMEOUT_MS: '1000',
      DELIVERY_RETRY_SCHEDULE: '0.2,0.2,0.2,0.2,0.2,0.2,0.2,0.2,0.2,0.2',
      DELIVERY_POLL_INTERVAL_MS: '100',
      DESTINATION_PROBE_BASE_MS: '300',
      DESTINATION_PROBE_MAX_MS: '600',
    });
    sql = postgres(app.database.url, { max: 4 });
  });
  afterAll(async () => {
    for (const stream of streams) stream.close();
    await sql?.end();
    await app?.stop();
    await Promise.all(receivers.map((started) => started.stop()));
  });

  it('delivers to each destination exactly the event types its filter names; a replay to a named destination ignores its filter', async () => {
    const [all, orders, exact] = [await receiver(), await receiver(), await receiver()];
    const { integrationId, destinations, send } = await integrationWith([
      { url: all.url },
      { url: orders.url, eventTypes: ['order.*'] },
      { url: exact.url, eventTypes: ['invoice.paid', 'refund.created'] },
    ]);
    // Same creation time: listed in id order, so find each by its filter.
    expect(destinations.map((d) => JSON.stringify(d.eventTypes)).sort()).toEqual(['["invoice.paid","refund.created"]', '["order.*"]', '[]']);
    const ordersDestination = destinations.find((d) => JSON.stringify(d.eventTypes) === '["order.*"]')!;
    const types = ['order.created', 'order.paid', 'invoice.paid', 'invoice.voided', 'refund.created', 'orders.x', null];
    const sent = new Map<string, string | null>();
    for (const [index, type] of types.entries()) {
      const payload = type === null ? { id: `filter-${index}` } : { id: `filter-${index}`, type };
      sent.set(await send(payload), type);
    }
    // 7 + 2 (order.created, order.paid; not "orders.x") + 2 (invoice.paid, refund.created).
    await settled(integrationId, 11);
    const typesOf = (sink: Receiver) => sink.received.map((request) => sent.get(request.headers['webhook-id']!)).sort();
    expect(typesOf(all)).toEqual([...types].sort());
    expect(typesOf(orders)).toEqual(['order.created', 'order.paid']);
    expect(typesOf(exact)).toEqual(['invoice.paid', 'refund.created']);

    // Replay of an invoice.voided event: to all destinations it follows the filters; named, it goes anyway.
    const voided = [...sent].find(([, type]) => type === 'invoice.voided')![0];
    const replay = (destinationId?: string) =>
      app.graphql<{ requestReplay: { __typename: string } }>(
        `mutation ($input: RequestReplayInput!) { requestReplay(input: $input) { __typename ... on Error { message } } }`,
        { input: { eventId: voided, requestedBy: 'test', reason: 'filter test', ...(destinationId ? { destinationId } : {}) } },
      );
    expect((await replay()).data?.requestReplay.__typename).toBe('RequestReplayPayload');
    expect((await replay(ordersDestination.id as string)).data?.requestReplay.__typename).toBe('RequestReplayPayload');
    await settled(integrationId, 13);
    expect(typesOf(all).filter((type) => type === 'invoice.voided')).toHaveLength(2);
    expect(typesOf(orders)).toEqual(['invoice.voided', 'order.created', 'order.paid']);
    expect(typesOf(exact)).toEqual(['invoice.paid', 'refund.created']);
  }, 60_000);

  it('shows a generated secret once, verifies with the standardwebhooks package, and signs with both secrets during a rotation', async () => {
    const sink = await receiver();
    const { integrationId, destinations, send } = await integrationWith([{ url: sink.url }]);
    const destination = destinations[0]!;
    const secret = destination.signingSecret as string;
    expect(secret).toMatch(/^whsec_/);
    const later = await app.graphql<{ integration: { destinations: { signingSecret: string | null }[] } }>(
      `query ($id: ID!) { integration(id: $id) { destinations { signingSecret } } }`,
      { id: integrationId },
    );
    expect(later.data?.integration.destinations[0]!.signingSecret).toBeNull();

    await send({ id: 'secret-1', type: 'x' });
    await settled(integrationId, 1);
    expect(() => new Webhook(secret).verify(sink.received[0]!.body, sink.received[0]!.headers)).not.toThrow();

    const rotated = await app.graphql<{ rotateDestinationSecret: Record<string, unknown> }>(
      `mutation ($input: RotateDestinationSecretInput!) { rotateDestinationSecret(input: $input) { __typename ... on Destination { ${DESTINATION_FIELDS} } } }`,
      { input: { id: destination.id, previousSecretTtlSeconds: 600 } },
    );
    const newSecret = rotated.data?.rotateDestinationSecret.signingSecret as string;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(secret);
    expect(rotated.data?.rotateDestinationSecret.previousSecretExpiresAt).toBeTruthy();
    await send({ id: 'secret-2', type: 'x' });
    await settled(integrationId, 2);
    const during = sink.received[1]!;
    expect(during.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    // Receivers holding either secret verify the same request.
    expect(() => new Webhook(newSecret).verify(during.body, during.headers)).not.toThrow();
    expect(() => new Webhook(secret).verify(during.body, during.headers)).not.toThrow();

    // The grace period ended: only the new secret signs.
    await sql`update destinations set previous_secret_expires_at = now() - interval '1 second' where id = ${destination.id as string}`;
    await send({ id: 'secret-3', type: 'x' });
    await settled(integrationId, 3);
    const after = sink.received[2]!;
    expect(after.headers['webhook-signature']!.split(' ')).toHaveLength(1);
    expect(() => new Webhook(newSecret).verify(after.body, after.headers)).not.toThrow();
    expect(() => new Webhook(secret).verify(after.body, after.headers)).toThrow();
    const audit = await sql`select details from audit_entries where target_id = ${destination.id as string} and action = 'destination.secret_rotated'`;
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit)).not.toContain(newSecret.slice(6, 20));
  }, 60_000);

  it('sends static headers, never records or returns their values, and refuses names that spoof ours', async () => {
    const sink = await receiver();
    const value = `Bearer static-${crypto.randomUUID()}`;
    const { integrationId, destinations, send } = await integrationWith([{ url: sink.url, headers: [{ name: 'Authorization', value }] }]);
    expect(destinations[0]!.headerNames).toEqual(['Authorization']);
    await send({ id: 'headers-1', type: 'x' });
    await settled(integrationId, 1);
    expect(sink.received[0]!.headers.authorization).toBe(value);
    const [stored] = await sql<{ dump: string }[]>`
      select coalesce(string_agg(a.request_headers::text, ''), '') || coalesce((select string_agg(details::text, '') from audit_entries), '')
             || (select headers from destinations where id = ${destinations[0]!.id as string}) as dump
      from delivery_attempts a join deliveries d on d.id = a.delivery_id where d.integration_id = ${integrationId}`;
    expect(stored!.dump).not.toContain(value);
    expect(stored!.dump).not.toContain('static-');

    for (const name of ['webhook-signature', 'X-Hookgate-Event-Id', 'Host', 'content-length']) {
      const refused = await app.graphql<{ addDestination: { __typename: string; message?: string } }>(
        `mutation ($input: AddDestinationInput!) { addDestination(input: $input) { __typename ... on Error { message } } }`,
        { input: { integrationId, url: sink.url, headers: [{ name, value }] } },
      );
      expect(refused.data?.addDestination.__typename, name).toBe('ValidationError');
      expect(refused.data?.addDestination.message).not.toContain(value);
    }
  }, 60_000);

  it('parks a failing destination (only probes during the outage, no delivery spends its retries), unparks on a good probe and drains in order, audited, live and notified', async () => {
    let up = false;
    const sink = await receiver((_req, res) => res.writeHead(up ? 200 : 503).end(up ? 'ok' : 'down'));
    const { integrationId, destinations, send } = await integrationWith([{ url: sink.url, parkAfterFailures: 3, maxConcurrency: 1 }]);
    const destinationId = destinations[0]!.id as string;
    const health = async () =>
      (await app.graphql<{ integration: { destinations: { health: string; parkedAt: string | null; backlog: number; currentConcurrency: number }[] } }>(
        `query ($id: ID!) { integration(id: $id) { destinations { health parkedAt backlog currentConcurrency } } }`,
        { id: integrationId },
      )).data!.integration.destinations[0]!;

    const live: { change: string; health: string; destination: { id: string } | null }[] = [];
    const sse = await openSse<{ destinationHealthChanged: (typeof live)[number] }>(
      `${app.managementUrl}/graphql`,
      TEST_API_KEY,
      {
        query: 'subscription ($id: ID) { destinationHealthChanged(destinationId: $id) { change health destination { id } } }',
        variables: { id: destinationId },
      },
      (data) => live.push(data.destinationHealthChanged),
    );
    streams.push(sse);
    expect(sse.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const eventIds: string[] = [];
    for (let index = 0; index < 3; index++) eventIds.push(await send({ id: `park-${index}`, type: 'x' }));
    await eventually(async () => ((await health()).health === 'PARKED' ? true : undefined), 20_000, 100);
    // Parked: new events queue behind the backlog.
    for (let index = 3; index < 10; index++) eventIds.push(await send({ id: `park-${index}`, type: 'x' }));
    const parkedAt = Date.parse((await health()).parkedAt!);
    // Everything waits for the parked destination (the persist step may still be storing the last ones).
    await eventually(async () => ((await health()).backlog === 10 ? true : undefined), 10_000, 100);
    // Of the ten waiting, workers hold at most the one probe.
    expect((await health()).currentConcurrency).toBeLessThanOrEqual(1);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const duringOutage = sink.received.filter((request) => request.at > parkedAt + 200).length;
    const probes = await sql<{ count: number }[]>`
      select count(*)::int as count from audit_entries where target_id = ${destinationId} and action = 'destination.probe_failed'`;
    expect(probes[0]!.count).toBeGreaterThan(0);
    // Only probes reached the receiver while it was parked (plus at most one attempt already under way).
    expect(duringOutage).toBeLessThanOrEqual(probes[0]!.count + 1);

    const upFrom = sink.received.length;
    up = true;
    await eventually(async () => ((await health()).health === 'HEALTHY' ? true : undefined), 20_000, 100);
    await settled(integrationId, 10);
    expect(await health()).toMatchObject({ backlog: 0, currentConcurrency: 0 });
    const rows = await sql<{ event_id: string; status: string; sequence: number }[]>`
      select event_id, status, sequence from deliveries where integration_id = ${integrationId} order by sequence`;
    expect(rows.every((row) => row.status === 'SUCCEEDED')).toBe(true);
    // The backlog arrived in order: first successful POST of each delivery, in sequence order.
    const succeededAt = new Map<string, number>();
    for (const [index, request] of sink.received.entries()) {
      if (index >= upFrom && !succeededAt.has(request.headers['webhook-id']!)) succeededAt.set(request.headers['webhook-id']!, index);
    }
    const order = rows.map((row) => succeededAt.get(row.event_id));
    expect(order.every((index) => index !== undefined)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a! - b!));

    const trail = await sql<{ action: string }[]>`
      select action from audit_entries where target_id = ${destinationId} and action like 'destination.%' order by at`;
    const actions = trail.map((entry) => entry.action);
    expect(actions[0]).toBe('destination.parked');
    expect(actions.at(-1)).toBe('destination.unparked');
    expect(actions.slice(1, -1).length).toBeGreaterThan(0);
    expect(actions.slice(1, -1).every((action) => action === 'destination.probe_failed')).toBe(true);

    // The same steps, live: parked, failed probes, unparked.
    await eventually(() => (live.at(-1)?.change === 'UNPARKED' ? true : undefined), 10_000);
    sse.close();
    expect(live[0]).toEqual({ change: 'PARKED', health: 'PARKED', destination: { id: destinationId } });
    expect(live.slice(1, -1).every((change) => change.change === 'PROBE_FAILED')).toBe(true);
    expect(live.at(-1)!.health).toBe('HEALTHY');

    await eventually(() => {
      const types = operator.received.map((request) => JSON.parse(request.body) as { type: string; data: { destinationId: string } })
        .filter((notification) => notification.data.destinationId === destinationId)
        .map((notification) => notification.type);
      return types.includes('destination.parked') && types.includes('destination.unparked') ? true : undefined;
    }, 10_000);
    const verifier = new Webhook(OPERATOR_SECRET);
    for (const request of operator.received) expect(() => verifier.verify(request.body, request.headers)).not.toThrow();
  }, 90_000);

  it('lets an operator park and unpark by hand, audited, and disables a destination parked too long — never silently', async () => {
    const sink = await receiver();
    const { destinations } = await integrationWith([{ url: sink.url }]);
    const id = destinations[0]!.id as string;
    const mutate = (name: 'parkDestination' | 'unparkDestination', input: Record<string, unknown>) =>
      app.graphql<Record<string, { __typename: string; health?: string }>>(
        `mutation ($input: ${name === 'parkDestination' ? 'ParkDestinationInput' : 'UnparkDestinationInput'}!) {
           ${name}(input: $input) { __typename ... on Destination { health } ... on Error { message } } }`,
        { input },
      );
    expect((await mutate('parkDestination', { id, reason: 'receiver maintenance' })).data?.parkDestination).toEqual({ __typename: 'Destination', health: 'PARKED' });
    expect((await mutate('unparkDestination', { id, reason: 'maintenance over' })).data?.unparkDestination).toEqual({ __typename: 'Destination', health: 'HEALTHY' });
    expect((await mutate('parkDestination', { id: crypto.randomUUID(), reason: 'nothing' })).data?.parkDestination?.__typename).toBe('NotFoundError');

    await mutate('parkDestination', { id, reason: 'receiver gone quiet' });
    await sql`update destinations set parked_at = now() - interval '6 days' where id = ${id}`;
    await eventually(async () => {
      const [row] = await sql<{ enabled: boolean; disabled_reason: string | null }[]>`select enabled, disabled_reason from destinations where id = ${id}`;
      return row!.enabled ? undefined : row;
    }, 20_000, 200);
    const actions = (await sql<{ action: string; actor: string }[]>`
      select action, actor from audit_entries where target_id = ${id} and action like 'destination.%' order by at`).map((row) => `${row.action}:${row.actor.split(':')[0]}`);
    expect(actions).toEqual(['destination.parked:key', 'destination.unparked:key', 'destination.parked:key', 'destination.disabled:system']);
    await eventually(() =>
      operator.received.some((request) => {
        const notification = JSON.parse(request.body) as { type: string; data: { destinationId: string } };
        return notification.type === 'destination.disabled' && notification.data.destinationId === id;
      }) || undefined,
    );
  }, 60_000);
});
