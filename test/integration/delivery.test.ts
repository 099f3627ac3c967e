import postgres from 'postgres';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { signers } from '../helpers/providers.js';
import { startReceiver } from '../helpers/receiver.js';
import { describeWithServices } from '../helpers/services.js';
import { postWebhook } from '../helpers/signing.js';

const DESTINATION_SECRET = `whsec_${Buffer.from('hookgate-delivery-test-secret-0123456789').toString('base64')}`;

describeWithServices('deliveries on real Kafka, Postgres and Redis to local receivers', ['kafka', 'postgres', 'redis'], () => {
  let app: TestApp;
  let sql: postgres.Sql;
  const receivers: Awaited<ReturnType<typeof startReceiver>>[] = [];
  let counter = 0;

  const receiver = async (...args: Parameters<typeof startReceiver>) => {
    const started = await startReceiver(...args);
    receivers.push(started);
    return started;
  };

  /** An integration whose one destination is `url`; returns a function that sends it a webhook. */
  async function integrationTo(url: string, options: { ordered?: boolean; orderingKeyPath?: string } = {}) {
    counter += 1;
    const provider = `acme-${counter}`;
    const secret = `acme-secret-${crypto.randomUUID()}`;
    const result = await app.graphql<{ createIntegration: { __typename: string; id: string; destinations: { id: string }[] } }>(
      `mutation ($input: CreateIntegrationInput!) {
         createIntegration(input: $input) { __typename ... on Integration { id destinations { id } } ... on Error { message } }
       }`,
      {
        input: {
          provider,
          name: provider,
          verification: { scheme: 'HMAC_SHA256', secret, eventKeyPath: '$.id', orderingKeyPath: options.orderingKeyPath },
          destinations: [{ url, secret: DESTINATION_SECRET, ordered: options.ordered ?? false }],
          rateLimitPerMinute: 1_000_000,
        },
      },
    );
    expect(result.data?.createIntegration.__typename, JSON.stringify(result)).toBe('Integration');
    const { id, destinations } = result.data!.createIntegration;
    const send = async (payload: Record<string, unknown>) => {
      const body = JSON.stringify(payload);
      return postWebhook(app.ingressUrl, provider, body, await signers.HMAC_SHA256!(body, secret));
    };
    return { integrationId: id, destinationId: destinations[0]!.id, send };
  }

  const deliveryRows = (eventId: string) =>
    sql<{ id: string; status: string; attempt_count: number; last_status_code: number | null }[]>`
      select id, status, attempt_count, last_status_code from deliveries where event_id = ${eventId} order by created_at`;
  const attemptRows = (deliveryId: string) =>
    sql<{ attempt_number: number; status_code: number | null; error_class: string | null; started_at: Date; request_headers: Record<string, string> }[]>`
      select attempt_number, status_code, error_class, started_at, request_headers from delivery_attempts
      where delivery_id = ${deliveryId} order by attempt_number`;

  beforeAll(async () => {
    app = await startTestApp({
      DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
      DELIVERY_TIMEOUT_MS: '1000',
      DELIVERY_RETRY_SCHEDULE: '0.3,0.3,0.3,0.3,0.3',
    });
    sql = postgres(app.database.url, { max: 4 });
  });
  afterEach(() => {
    for (const started of receivers) started.respondWith((_req, res) => res.writeHead(200).end('ok'));
  });
  afterAll(async () => {
    await sql?.end();
    await app?.stop();
    await Promise.all(receivers.map((started) => started.stop()));
  });

  it('delivers 400 distinct events out of 500 concurrent sends (100 duplicates), each signed verifiably', async () => {
    const sink = await receiver();
    const { send, integrationId } = await integrationTo(sink.url);
    const ids = Array.from({ length: 400 }, (_, index) => `order-${index}`);
    const sends = [...ids, ...ids.slice(0, 100)].map((id) => ({ id, amount: 1 }));
    const responses = [];
    for (let start = 0; start < sends.length; start += 50) {
      responses.push(...(await Promise.all(sends.slice(start, start + 50).map((payload) => send(payload)))));
    }
    expect(responses.every((response) => response.status === 202)).toBe(true);
    // Wait for every delivery to be final, not for 400 POSTs: a timed-out attempt (the app, its
    // receiver and this test share one loaded process) is a POST too, and is retried.
    await eventually(
      async () => {
        const [row] = await sql<{ open: number; total: number }[]>`
          select count(*) filter (where status not in ('SUCCEEDED', 'FAILED', 'CANCELLED'))::int as open, count(*)::int as total
          from deliveries where integration_id = ${integrationId}`;
        return row!.total === 400 && row!.open === 0 ? true : undefined;
      },
      90_000,
      200,
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));

    const [events] = await sql<{ count: number }[]>`select count(*)::int as count from events where integration_id = ${integrationId}`;
    const [firsts] = await sql<{ count: number }[]>`
      select count(*)::int as count from deliveries where integration_id = ${integrationId} and trigger = 'DISPATCH'`;
    expect(events!.count).toBe(400);
    expect(firsts!.count).toBe(400);
    // Every POST the receiver saw is a recorded attempt of its event's delivery, and every event
    // arrived: POSTs per webhook-id equal attempts per event (a retried reset counts on both sides).
    const postsPerEvent = new Map<string, number>();
    for (const request of sink.received) postsPerEvent.set(request.headers['webhook-id']!, (postsPerEvent.get(request.headers['webhook-id']!) ?? 0) + 1);
    const attempted = await sql<{ event_id: string; attempts: number; errors: string[] }[]>`
      select d.event_id, count(a.id)::int as attempts, array_remove(array_agg(a.error_class), null) as errors
      from deliveries d join delivery_attempts a on a.delivery_id = d.id
      where d.integration_id = ${integrationId} group by d.event_id`;
    const attemptsPerEvent = new Map(attempted.map((row) => [row.event_id, row.attempts]));
    expect(postsPerEvent.size).toBe(400);
    expect(attemptsPerEvent, JSON.stringify(attempted.filter((row) => row.errors.length > 0))).toEqual(postsPerEvent);
    const [unfinished] = await sql<{ count: number }[]>`
      select count(*)::int as count from deliveries where integration_id = ${integrationId} and status <> 'SUCCEEDED'`;
    expect(unfinished!.count).toBe(0);

    const verifier = new Webhook(DESTINATION_SECRET);
    const eventIds = new Set<string>();
    for (const request of sink.received) {
      expect(() => verifier.verify(request.body, request.headers)).not.toThrow();
      expect(request.headers['x-hookgate-event-id']).toBe(request.headers['webhook-id']);
      expect(request.headers['x-hookgate-delivery-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(request.headers['x-request-id']).toBeTruthy();
      eventIds.add(request.headers['webhook-id']!);
    }
    expect(eventIds.size).toBe(400);
  }, 120_000);

  it('retries a 503 after its Retry-After and records both attempts', async () => {
    const sink = await receiver((_req, res, index) => {
      if (index === 0) res.writeHead(503, { 'retry-after': '1' }).end('busy');
      else res.writeHead(200).end('ok');
    });
    const { send } = await integrationTo(sink.url);
    const response = await send({ id: 'retry-me' });
    await eventually(async () => (sink.received.length >= 2 ? true : undefined), 15_000);
    const gap = sink.received[1]!.at - sink.received[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(900);
    expect(gap).toBeLessThan(3000);
    expect(sink.received[1]!.headers['webhook-id']).toBe(sink.received[0]!.headers['webhook-id']);
    const [delivery] = await eventually(async () => {
      const rows = await deliveryRows(response.body.eventId as string);
      return rows[0]?.status === 'SUCCEEDED' ? rows : undefined;
    });
    const attempts = await attemptRows(delivery!.id);
    expect(attempts.map((attempt) => attempt.status_code)).toEqual([503, 200]);
    expect(attempts[0]!.request_headers['webhook-signature']).toBeUndefined();
    expect(attempts[0]!.request_headers['webhook-id']).toBe(response.body.eventId);
  });

  it('disables the destination on 410 Gone, with an audit entry', async () => {
    const sink = await receiver((_req, res) => res.writeHead(410).end('gone'));
    const { send, destinationId } = await integrationTo(sink.url);
    const response = await send({ id: 'gone' });
    const [delivery] = await eventually(async () => {
      const rows = await deliveryRows(response.body.eventId as string);
      return rows[0]?.status === 'FAILED' ? rows : undefined;
    });
    expect(delivery!.last_status_code).toBe(410);
    // The destination is disabled once the attempt is recorded, in the step after (delivery-recorder.ts).
    const destination = await eventually(async () => {
      const [row] = await sql<{ enabled: boolean; disabled_reason: string }[]>`select enabled, disabled_reason from destinations where id = ${destinationId}`;
      return row!.enabled ? undefined : row;
    });
    expect(destination!.enabled).toBe(false);
    expect(destination!.disabled_reason).toContain('410');
    const audit = await sql`select 1 from audit_entries where action = 'destination.disabled' and target_id = ${destinationId}`;
    expect(audit).toHaveLength(1);
  });

  it('treats a 302 as a failure and never calls the redirect target', async () => {
    const target = await receiver();
    const sink = await receiver((_req, res) => res.writeHead(302, { location: `${target.url}/elsewhere` }).end());
    const { send } = await integrationTo(sink.url);
    const response = await send({ id: 'redirected' });
    const [delivery] = await eventually(async () => {
      const rows = await deliveryRows(response.body.eventId as string);
      return rows[0]?.status === 'FAILED' ? rows : undefined;
    });
    expect(delivery!.last_status_code).toBe(302);
    expect(delivery!.attempt_count).toBe(1);
    expect(target.received).toHaveLength(0);
  });

  it('times out a hanging receiver and retries', async () => {
    const sink = await receiver((_req, res, index) => {
      if (index > 0) res.writeHead(200).end('ok');
      // the first request is never answered
    });
    const { send } = await integrationTo(sink.url);
    const response = await send({ id: 'slow' });
    const [delivery] = await eventually(async () => {
      const rows = await deliveryRows(response.body.eventId as string);
      return rows[0]?.status === 'SUCCEEDED' ? rows : undefined;
    });
    const attempts = await attemptRows(delivery!.id);
    expect(attempts.map((attempt) => attempt.error_class ?? attempt.status_code)).toEqual(['TIMEOUT', 200]);
  });

  it('delivers an ordered destination’s 20 events for one key in order while the receiver fails some attempts', async () => {
    const sink = await receiver((_req, res, index) => {
      if (index % 3 === 1) res.writeHead(500).end('flaky');
      else res.writeHead(200).end('ok');
    });
    const { send } = await integrationTo(sink.url, { ordered: true, orderingKeyPath: '$.order_id' });
    // Twenty distinct events (distinct ids) about one order: the ordering key is order-42 for all.
    for (let sequence = 0; sequence < 20; sequence++) {
      const response = await send({ id: `order-42-change-${sequence}`, order_id: 'order-42', sequence });
      expect(response.status).toBe(202);
    }
    // Another key on the same destination is not held up by order-42's failures.
    const other = await send({ id: 'order-7-created', order_id: 'order-7', sequence: 0 });
    expect(other.status).toBe(202);
    const succeeded = () => sink.received.filter((_request, index) => index % 3 !== 1);
    await eventually(async () => (succeeded().length >= 21 ? true : undefined), 60_000, 200);

    const forKey = sink.received
      .map((request) => JSON.parse(request.body) as { order_id: string; sequence: number })
      .filter((payload) => payload.order_id === 'order-42')
      .map((payload) => payload.sequence);
    // Every attempt (failed ones included) went out in order: one at a time, never skipping ahead.
    expect(forKey).toEqual([...forKey].sort((a, b) => a - b));
    expect(new Set(forKey)).toEqual(new Set(Array.from({ length: 20 }, (_, index) => index)));
    expect(forKey.length).toBeGreaterThan(20);
  });

  it('refuses destinations on internal networks at creation, naming the field', async () => {
    for (const url of ['http://169.254.169.254/latest/meta-data', 'http://10.0.0.7/hook', 'http://[::1]:9/hook', 'ftp://127.0.0.1/hook']) {
      const result = await app.graphql<{ createIntegration: { __typename: string; fieldErrors?: { path: string[]; message: string }[] } }>(
        `mutation ($input: CreateIntegrationInput!) {
           createIntegration(input: $input) { __typename ... on ValidationError { fieldErrors { path message } } }
         }`,
        { input: { provider: `ssrf-${crypto.randomUUID().slice(0, 8)}`, name: 'x', verification: { scheme: 'HMAC_SHA256', secret: 'x'.repeat(20) }, destinations: [{ url }] } },
      );
      expect(result.data?.createIntegration.__typename, url).toBe('ValidationError');
      expect(result.data?.createIntegration.fieldErrors?.[0]?.path).toEqual(['input', 'destinations', '0', 'url']);
    }
  });
});
