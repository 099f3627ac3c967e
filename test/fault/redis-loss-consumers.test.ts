import { Redis } from 'ioredis';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually } from '../helpers/app.js';
import { createHmacIntegration, destinationSecret, startAppOn, type InProcessApp } from '../helpers/app-on.js';
import { hookgateEnv } from '../helpers/child-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startPrivateRedis } from '../helpers/processes.js';
import { signers } from '../helpers/providers.js';
import { startReceiver } from '../helpers/receiver.js';
import { describeWithServices, services } from '../helpers/services.js';
import { postWebhook } from '../helpers/signing.js';

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

describeWithServices('persist and delivery while their Redis dies mid-run and comes back', ['kafka', 'postgres', 'redis'], () => {
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  let database: TestDatabase;
  let sql: postgres.Sql;
  let app: InProcessApp;
  let sink: Receiver;
  let env: Record<string, string>;
  const secret = `acme-secret-${crypto.randomUUID()}`;
  const accepted = new Set<string>();

  /** Sends in concurrent waves; every webhook must be accepted. Returns the event ids. */
  async function sendAll(ids: string[], waveSize = 25): Promise<string[]> {
    const eventIds: string[] = [];
    for (let start = 0; start < ids.length; start += waveSize) {
      const wave = ids.slice(start, start + waveSize).map(async (id) => {
        const body = JSON.stringify({ id });
        const response = await postWebhook(app.ingressUrl!, 'acme', body, await signers.HMAC_SHA256!(body, secret));
        expect(response.status, JSON.stringify(response.body)).toBe(202);
        accepted.add(response.body.eventId as string);
        return response.body.eventId as string;
      });
      eventIds.push(...(await Promise.all(wave)));
    }
    return eventIds;
  }

  const countEvents = async () => (await sql<{ count: number }[]>`select count(*)::int as count from events`)[0]!.count;
  const receivedEventIds = () => new Set(sink.received.map((request) => request.headers['webhook-id']));

  /** Waits until every accepted event is stored and has reached the receiver. */
  async function allStoredAndDelivered(timeoutMs: number): Promise<void> {
    await eventually(
      async () => {
        const received = receivedEventIds();
        if ([...accepted].some((id) => !received.has(id))) return undefined;
        return (await countEvents()) >= accepted.size ? true : undefined;
      },
      timeoutMs,
      200,
    );
  }

  /** One events row per accepted id, one DISPATCH delivery per event, each POSTed exactly once. */
  async function expectEachOnce(): Promise<void> {
    const ids = [...accepted];
    const [events] = await sql<{ rows: number; accepted: number }[]>`
      select count(*)::int as rows, count(*) filter (where id = any(${ids}::uuid[]))::int as accepted from events`;
    expect(events).toEqual({ rows: ids.length, accepted: ids.length });
    const deliveries = await sql<{ event_id: string; count: number; succeeded: number }[]>`
      select event_id, count(*)::int as count, count(*) filter (where status = 'SUCCEEDED')::int as succeeded
      from deliveries where trigger = 'DISPATCH' group by event_id`;
    expect(deliveries).toHaveLength(ids.length);
    expect(deliveries.filter((row) => row.count !== 1 || row.succeeded !== 1)).toEqual([]);
    const perDelivery = new Map<string, number>();
    for (const request of sink.received) {
      const id = request.headers['x-hookgate-delivery-id']!;
      perDelivery.set(id, (perDelivery.get(id) ?? 0) + 1);
    }
    expect(perDelivery.size).toBe(ids.length);
    expect([...perDelivery.values()].filter((count) => count !== 1)).toEqual([]);
  }

  beforeAll(async () => {
    redis = await startPrivateRedis();
    database = await createTestDatabase(services.testDatabaseUrl!);
    sql = postgres(database.url, { max: 2 });
    sink = await startReceiver((_request, res) => {
      setTimeout(() => res.writeHead(200).end('ok'), 5 + Math.random() * 20);
    });
    env = hookgateEnv(database.url, {
      REDIS_URL: redis.url,
      DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
      // Wake-ups travel through Redis; with Redis gone only the poll finds new deliveries.
      DELIVERY_POLL_INTERVAL_MS: '300',
      // Without Redis every coordination call takes seconds to fail (see the comment in the test), and
      // a worker's slot stays busy for its status publish: many slots keep the outage phase short.
      DELIVERY_CONCURRENCY: '128',
      // One partition: the persist consumer's Redis calls are per batch, and partitions go one at a time.
      KAFKA_TOPIC_PARTITIONS: '1',
      RATE_LIMIT_PER_MINUTE: '10000000',
    });
    app = await startAppOn({ ...env, HOOKGATE_ROLE: 'all' });
    await createHmacIntegration(app, { provider: 'acme', secret, destinations: [{ url: `${sink.url}/hook`, secret: destinationSecret() }] });
  });

  afterAll(async () => {
    await app?.stop();
    await sink?.stop();
    await sql?.end();
    await database?.drop();
    await redis?.stop();
  });

  it('stores and delivers each event once without Redis, and uses Redis again once it is back', async () => {
    const before = Array.from({ length: 200 }, (_, index) => `before-${index}`);
    const sending = sendAll([...before, ...before.slice(0, 30)]);
    // Mid-run: the consumers have stored some of the stream and more is still arriving.
    await eventually(async () => ((await countEvents()) >= 30 ? true : undefined), 30_000, 10);
    await redis.stop();
    await sending;

    // Keep sending without Redis: new events, and duplicates of stored and in-flight ones. While
    // Redis is down each of its calls takes ~4 s to fail, rate limiting included: one big wave.
    const during = Array.from({ length: 80 }, (_, index) => `during-${index}`);
    await sendAll([...during, ...before.slice(150, 200), ...during.slice(0, 20)], 150);
    expect(accepted.size).toBe(280);
    await allStoredAndDelivered(70_000);
    // Give a duplicate that slipped past the markers time to show up as a second row or POST.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await expectEachOnce();

    redis = await startPrivateRedis(redis.port);
    await eventually(async () => ((await fetch(`${app.ingressUrl}/api/v1/health`)).status === 200 ? true : undefined), 20_000, 250);

    const after = Array.from({ length: 30 }, (_, index) => `after-${index}`);
    const afterIds = await sendAll(after);
    await allStoredAndDelivered(30_000);
    // The persist consumer writes its markers to the restarted server: Redis is in use again.
    const probe = new Redis(redis.url, { keyPrefix: env.REDIS_KEY_PREFIX!, maxRetriesPerRequest: 1 });
    try {
      await eventually(async () => {
        const markers = await probe.mget(afterIds.map((id) => `marker:${id}`));
        return markers.every((marker) => marker !== null) ? true : undefined;
      }, 10_000);
    } finally {
      probe.disconnect();
    }
    // A duplicate after recovery is dropped at the marker, and never stored or delivered twice.
    await sendAll(after.slice(0, 10));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(accepted.size).toBe(310);
    await expectEachOnce();
  });
});
