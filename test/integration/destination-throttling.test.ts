import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createDeliveryWorker, type DeliveryWorkerSettings } from '../../src/consumers/delivery-worker.js';
import { sendPinned } from '../../src/consumers/http-sender.js';
import { createSsrfGuard } from '../../src/consumers/ssrf-guard.js';
import { createStatusPublisher } from '../../src/consumers/status-events.js';
import { openDatabase, type DatabaseHandle } from '../../src/db/client.js';
import { silentLogger } from '../../src/log.js';
import type { Coordination } from '../../src/ports/coordination.js';
import { createRedisCoordination } from '../../src/ports/redis-coordination.js';
import { parkDestination, unparkDestination } from '../../src/operations/destination-parking.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { startReceiver, type ReceivedRequest } from '../helpers/receiver.js';
import { seedPendingDeliveries } from '../helpers/seed.js';
import { describeWithServices, services } from '../helpers/services.js';

type Receiver = Awaited<ReturnType<typeof startReceiver>>;
type Worker = ReturnType<typeof createDeliveryWorker>;

const BASE: DeliveryWorkerSettings = {
  concurrency: 8,
  leaseMs: 30_000,
  timeoutMs: 5_000,
  pollIntervalMs: 50,
  retry: { scheduleMs: Array.from({ length: 30 }, () => 50), retryAfterCapMs: 60_000, jitter: 0.2 },
  stopGraceMs: 2_000,
  probe: { baseMs: 60_000, maxMs: 60_000 },
};

/** A receiver that counts requests open at once and answers through `answer` after `delayMs`. */
async function countingReceiver(delayMs: number, answer: (open: number, res: ServerResponse) => void = (_open, res) => res.writeHead(200).end('ok')) {
  let open = 0;
  const state = { maxOpen: 0, openAtArrival: [] as number[] };
  const receiver = await startReceiver((_request: ReceivedRequest, res) => {
    open += 1;
    state.maxOpen = Math.max(state.maxOpen, open);
    state.openAtArrival.push(open);
    const arrivedWith = open;
    setTimeout(() => {
      answer(arrivedWith, res);
      open -= 1;
    }, delayMs);
  });
  return Object.assign(receiver, { state });
}

describeWithServices('destination throttling and adaptive concurrency: workers sharing Redis, real Postgres', ['postgres', 'redis'], () => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  let sql: postgres.Sql;
  let workers: Worker[] = [];
  let receivers: Receiver[] = [];
  const coordinations: Coordination[] = [];
  const prefix = `hookgate-throttle-test:${randomBytes(4).toString('hex')}:`;

  /** A worker with its own Redis connection, as a separate process would have. */
  async function worker(settings: Partial<DeliveryWorkerSettings> = {}) {
    const coordination = createRedisCoordination({ url: services.redisUrl!, keyPrefix: prefix, log: silentLogger });
    await eventually(() => coordination.ping().then(() => true), 10_000);
    coordinations.push(coordination);
    const created = createDeliveryWorker({
      db: handle.db,
      coordination,
      status: createStatusPublisher(coordination, silentLogger),
      log: silentLogger,
      guard: createSsrfGuard({ allowedHosts: ['127.0.0.1'], requireHttps: false }),
      send: sendPinned,
      settings: { ...BASE, ...settings },
    });
    workers.push(created);
    await created.start();
    return created;
  }

  const destinationOf = async (deliveryId: string) =>
    (await sql<{ destination_id: string }[]>`select destination_id from deliveries where id = ${deliveryId}`)[0]!.destination_id;
  const allSucceeded = (ids: string[], timeoutMs = 60_000) =>
    eventually(
      async () => {
        const [row] = await sql<{ done: number }[]>`select count(*)::int as done from deliveries where id = any(${ids}::uuid[]) and status = 'SUCCEEDED'`;
        return row!.done === ids.length ? true : undefined;
      },
      timeoutMs,
      100,
    );

  beforeAll(async () => {
    database = await createTestDatabase(services.testDatabaseUrl!);
    handle = await openDatabase({ url: database.url, dataDir: '', poolSize: 8 });
    sql = postgres(database.url, { max: 4, onnotice: () => {} });
  });
  afterEach(async () => {
    await Promise.all(workers.map((running) => running.stop()));
    await Promise.all(receivers.map((started) => started.stop()));
    workers = [];
    receivers = [];
    await sql`update deliveries set status = 'CANCELLED' where status in ('PENDING', 'RETRYING', 'IN_FLIGHT')`;
  });
  afterAll(async () => {
    await Promise.all(coordinations.map((coordination) => coordination.close()));
    await sql?.end();
    await handle?.close();
    await database?.drop();
  });

  it('two workers together keep a destination capped at 20/s and 2 at once to both limits, and throttling spends no attempt', async () => {
    const sink = await countingReceiver(30);
    receivers.push(sink);
    const ids = await seedPendingDeliveries(sql, { url: `${sink.url}/capped`, count: 60 });
    await sql`update destinations set max_per_second = 20, max_concurrency = 2 where id = ${await destinationOf(ids[0]!)}`;
    await Promise.all([worker(), worker()]);
    await allSucceeded(ids);

    expect(sink.received).toHaveLength(60);
    expect(sink.state.maxOpen).toBeLessThanOrEqual(2);
    // In any one-second window: at most the rate plus the one request GCRA lets through early.
    const arrivals = sink.received.map((request) => request.at).sort((a, b) => a - b);
    const busiest = Math.max(...arrivals.map((at, index) => arrivals.slice(index).filter((other) => other < at + 1000).length));
    expect(busiest).toBeLessThanOrEqual(21);
    const [attempts] = await sql<{ max: number; total: number }[]>`
      select max(attempt_count)::int as max, (select count(*)::int from delivery_attempts where delivery_id = any(${ids}::uuid[])) as total
      from deliveries where id = any(${ids}::uuid[])`;
    expect(attempts).toEqual({ max: 1, total: 60 });
  }, 90_000);

  it('settles near 3 at once for a receiver that answers 429 above 3 concurrent requests, and still drains the backlog', async () => {
    const sink = await countingReceiver(40, (open, res) => (open > 3 ? res.writeHead(429).end('slow down') : res.writeHead(200).end('ok')));
    receivers.push(sink);
    const ids = await seedPendingDeliveries(sql, { url: `${sink.url}/adaptive`, count: 200 });
    const running = await worker({ concurrency: 16 });
    await allSucceeded(ids);

    const destinationId = await destinationOf(ids[0]!);
    const window = running.concurrencyOf(destinationId)!;
    expect(window).toBeGreaterThanOrEqual(2);
    expect(window).toBeLessThanOrEqual(4);
    // Without adaptation 16 requests would be open and 13 of every 16 refused; after the first
    // rounds, the refusals are the occasional probe above 3.
    const secondHalf = sink.state.openAtArrival.slice(Math.floor(sink.state.openAtArrival.length / 2));
    const refused = secondHalf.filter((open) => open > 3).length;
    expect(refused / secondHalf.length).toBeLessThan(0.25);
  }, 120_000);

  it('a destination hanging for the whole timeout holds one or two of a worker’s slots; the healthy one on the same integration is not held up', async () => {
    const hanging = await startReceiver(() => {
      // Never answers: every attempt runs into the timeout.
    });
    const healthy = await countingReceiver(5);
    receivers.push(hanging, healthy);
    const hangingIds = await seedPendingDeliveries(sql, { url: `${hanging.url}/hang`, count: 40 });
    const [hangingRow] = await sql<{ integration_id: string }[]>`select integration_id from deliveries where id = ${hangingIds[0]!}`;
    const integrationId = hangingRow!.integration_id;
    const [healthyRow] = await sql<{ id: string }[]>`
      insert into destinations (integration_id, url, secret) select integration_id, ${`${healthy.url}/fine`}, secret from destinations where id = ${await destinationOf(hangingIds[0]!)}
      returning id`;
    const healthyDestination = healthyRow!.id;
    /** 10 rounds of 20 new deliveries of events of the same integration to the healthy destination. */
    const healthyRounds = async () => {
      const createdAt = new Map<string, number>();
      for (let round = 0; round < 10; round++) {
        const rows = await sql<{ id: string }[]>`
          with fresh as (
            insert into events (id, integration_id, provider, event_key, raw_body, received_at)
            select gen_random_uuid(), ${integrationId}, 'isolation', 'iso-' || gen_random_uuid(), convert_to('{"ok":true}', 'UTF8'), now()
            from generate_series(1, 20)
            returning id)
          insert into deliveries (event_id, destination_id, integration_id) select id, ${healthyDestination}, ${integrationId} from fresh
          returning id`;
        for (const row of rows) createdAt.set(row.id, Date.now());
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await allSucceeded([...createdAt.keys()]);
      const latencies = healthy.received
        .filter((request) => createdAt.has(request.headers['x-hookgate-delivery-id']!))
        .map((request) => request.at - createdAt.get(request.headers['x-hookgate-delivery-id']!)!)
        .sort((a, b) => a - b);
      return { ids: [...createdAt.keys()], p50: latencies[Math.floor(latencies.length / 2)]!, p99: latencies[Math.ceil(latencies.length * 0.99) - 1]! };
    };

    // Alone first (the hanging destination's deliveries are not due yet), then beside it.
    await sql`update deliveries set next_attempt_at = 'infinity' where id = any(${hangingIds}::uuid[])`;
    const running = await worker({ concurrency: 8, timeoutMs: 1_000 });
    const alone = await healthyRounds();
    await sql`update deliveries set next_attempt_at = now() where id = any(${hangingIds}::uuid[])`;
    await eventually(() => (hanging.received.length >= 2 ? true : undefined), 10_000);
    const beside = await healthyRounds();

    const hangingDestination = await destinationOf(hangingIds[0]!);
    expect(running.concurrencyOf(hangingDestination)).toBe(1);
    const [retried] = await sql<{ count: number }[]>`
      select count(*)::int as count from deliveries where id = any(${[...alone.ids, ...beside.ids]}::uuid[]) and attempt_count > 1`;
    expect(retried!.count).toBe(0);
    console.info(
      `[isolation] healthy destination, 200 deliveries each: alone p50 ${alone.p50} ms p99 ${alone.p99} ms; ` +
        `beside a hanging destination (1 s timeout, ${hanging.received.length} timed-out attempts) p50 ${beside.p50} ms p99 ${beside.p99} ms`,
    );
  }, 120_000);

  it('an unparked destination drains its backlog from one request at a time upwards, each delivery with one attempt', async () => {
    const sink = await countingReceiver(10);
    receivers.push(sink);
    const ids = await seedPendingDeliveries(sql, { url: `${sink.url}/drain`, count: 300 });
    const destinationId = await destinationOf(ids[0]!);
    const who = { actor: 'test', requestId: null, sourceIp: null };
    // Parked before anything was sent: the whole backlog waits.
    await parkDestination(handle.db, destinationId, 'test backlog', 60_000, who);
    await worker({ concurrency: 16 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sink.received).toHaveLength(0);

    const unparkedAt = Date.now();
    await unparkDestination(handle.db, destinationId, 'drain test', who);
    // A worker hears of an unpark through the health channel; an operator's comes from the API, which publishes it.
    await createStatusPublisher(coordinations[0]!, silentLogger).destinationHealth([{ destinationId, integrationId: '', change: 'UNPARKED', reason: 'drain test' }]);
    await allSucceeded(ids);
    const drainedIn = Math.max(...sink.received.map((request) => request.at)) - unparkedAt;

    const [attempts] = await sql<{ max: number }[]>`select max(attempt_count)::int as max from deliveries where id = any(${ids}::uuid[])`;
    expect(attempts!.max).toBe(1);
    // The ramp: the first requests came one or two at a time (not 16), later ones many at once.
    expect(Math.max(...sink.state.openAtArrival.slice(0, 3))).toBeLessThanOrEqual(2);
    expect(Math.max(...sink.state.openAtArrival)).toBeGreaterThan(4);
    console.info(`[drain] 300 parked deliveries drained in ${drainedIn} ms after the unpark (${Math.round((300 / drainedIn) * 1000)}/s), peak ${Math.max(...sink.state.openAtArrival)} at once`);
  }, 120_000);
});
