import { PgDialect } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createDeliveryWorker, type DeliveryWorkerSettings } from '../../src/consumers/delivery-worker.js';
import { claimStatement } from '../../src/consumers/delivery-store.js';
import { sendPinned } from '../../src/consumers/http-sender.js';
import { createSsrfGuard, type Resolver } from '../../src/consumers/ssrf-guard.js';
import { createStatusPublisher } from '../../src/consumers/status-events.js';
import { openDatabase, type Database, type DatabaseHandle } from '../../src/db/client.js';
import { silentLogger } from '../../src/log.js';
import { createMemoryCoordination } from '../../src/ports/memory-coordination.js';
import { eventually } from '../helpers/eventually.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startReceiver } from '../helpers/receiver.js';
import { seedPendingDeliveries } from '../helpers/seed.js';
import { describeWithServices, services } from '../helpers/services.js';

type Receiver = Awaited<ReturnType<typeof startReceiver>>;
type Worker = ReturnType<typeof createDeliveryWorker>;

const BASE: DeliveryWorkerSettings = {
  concurrency: 8,
  leaseMs: 30_000,
  timeoutMs: 5_000,
  pollIntervalMs: 50,
  retry: { scheduleMs: [300, 300, 300], retryAfterCapMs: 60_000, jitter: 0.2 },
  stopGraceMs: 5_000,
};

describeWithServices('delivery engine: in-process workers on real Postgres and local receivers', ['postgres'], () => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  let sql: postgres.Sql;
  let workers: Worker[] = [];
  let receivers: Receiver[] = [];
  const coordination = createMemoryCoordination();

  const receiver = async (...args: Parameters<typeof startReceiver>) => {
    const started = await startReceiver(...args);
    receivers.push(started);
    return started;
  };

  function worker(options: { settings?: Partial<DeliveryWorkerSettings>; resolve?: Resolver; db?: Database; id?: string } = {}) {
    const created = createDeliveryWorker({
      db: options.db ?? handle.db,
      coordination,
      status: createStatusPublisher(coordination, silentLogger),
      log: silentLogger,
      guard: createSsrfGuard({ allowedHosts: ['127.0.0.1'], requireHttps: false, ...(options.resolve ? { resolve: options.resolve } : {}) }),
      send: sendPinned,
      settings: { ...BASE, ...options.settings },
      ...(options.id ? { workerId: options.id } : {}),
    });
    workers.push(created);
    return created;
  }

  const statusCounts = async (ids: string[]) => {
    const rows = await sql<{ status: string; count: number }[]>`
      select status::text, count(*)::int as count from deliveries where id = any(${ids}::uuid[]) group by status`;
    return Object.fromEntries(rows.map((row) => [row.status, row.count]));
  };
  const postsPerDelivery = (sink: Receiver) => {
    const counts = new Map<string, number>();
    for (const request of sink.received) {
      const id = request.headers['x-hookgate-delivery-id']!;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  };
  const attemptsPerDelivery = async (ids: string[]) => {
    const rows = await sql<{ delivery_id: string; attempts: number }[]>`
      select delivery_id, count(*)::int as attempts from delivery_attempts where delivery_id = any(${ids}::uuid[]) group by delivery_id`;
    return new Map(rows.map((row) => [row.delivery_id, row.attempts]));
  };

  beforeAll(async () => {
    database = await createTestDatabase(services.testDatabaseUrl!);
    handle = await openDatabase({ url: database.url, dataDir: '', poolSize: 6 });
    sql = postgres(database.url, { max: 4, onnotice: () => {} });
  });
  afterEach(async () => {
    await Promise.all(workers.map((running) => running.stop()));
    await Promise.all(receivers.map((started) => started.stop()));
    workers = [];
    receivers = [];
    // Each test starts from no due work, whatever the previous one left.
    await sql`update deliveries set status = 'CANCELLED' where status in ('PENDING', 'RETRYING', 'IN_FLIGHT')`;
  });
  afterAll(async () => {
    await sql?.end();
    await handle?.close();
    await database?.drop();
  });

  it('a name that fails to resolve once is retried on the schedule and delivered, both attempts recorded', async () => {
    const sink = await receiver();
    let lookups = 0;
    const flaky: Resolver = async () => {
      lookups += 1;
      if (lookups === 1) throw Object.assign(new Error('getaddrinfo EAI_AGAIN hooks.flaky.test'), { code: 'EAI_AGAIN' });
      return [{ address: '127.0.0.1', family: 4 }];
    };
    const port = new URL(sink.url).port;
    const [deliveryId] = await seedPendingDeliveries(sql, { url: `http://hooks.flaky.test:${port}/hook`, count: 1 });
    await worker({ resolve: flaky }).start();

    await eventually(async () => ((await statusCounts([deliveryId!])).SUCCEEDED === 1 ? true : undefined), 10_000, 50);
    const attempts = await sql<{ attempt_number: number; error_class: string | null; status_code: number | null; started_at: Date }[]>`
      select attempt_number, error_class, status_code, started_at from delivery_attempts where delivery_id = ${deliveryId!} order by attempt_number`;
    expect(attempts.map((row) => [row.attempt_number, row.error_class ?? row.status_code])).toEqual([
      [1, 'DNS'],
      [2, 200],
    ]);
    // The second attempt waited for its scheduled delay (300 ms ± 20%), not for a lease or a poll.
    expect(attempts[1]!.started_at.getTime() - attempts[0]!.started_at.getTime()).toBeGreaterThanOrEqual(230);
    expect(sink.received).toHaveLength(1);
    expect(lookups).toBe(2);
  });

  it('a late completion of a claim whose lease ran out does not overwrite the claim the same worker took again', async () => {
    const sink = await receiver((_request, res, index) => {
      // The first POST is answered only after the lease (300 ms) has run out and the delivery was
      // claimed again; the second is answered at once.
      if (index === 0) setTimeout(() => res.writeHead(200).end('late'), 1_200);
      else res.writeHead(503).end('busy');
    });
    const [deliveryId] = await seedPendingDeliveries(sql, { url: `${sink.url}/hook`, count: 1 });
    const running = worker({ settings: { leaseMs: 300, retry: { ...BASE.retry, scheduleMs: [60_000, 60_000] } }, id: 'worker-self' });
    await running.start();

    await eventually(async () => (sink.received.length === 2 ? true : undefined), 5_000, 20);
    await eventually(async () => ((await attemptsPerDelivery([deliveryId!])).get(deliveryId!) === 2 ? true : undefined), 5_000, 50);
    await running.stop();

    const [row] = await sql<{ status: string; attempt_count: number; last_status_code: number; lease_owner: string | null }[]>`
      select status::text, attempt_count, last_status_code, lease_owner from deliveries where id = ${deliveryId!}`;
    // Attempt 2's 503 stands; attempt 1's late 200 is on record but moved nothing.
    expect(row).toEqual({ status: 'RETRYING', attempt_count: 2, last_status_code: 503, lease_owner: null });
    const attempts = await sql<{ attempt_number: number; status_code: number }[]>`
      select attempt_number, status_code from delivery_attempts where delivery_id = ${deliveryId!} order by attempt_number`;
    expect(attempts).toEqual([
      { attempt_number: 1, status_code: 200 },
      { attempt_number: 2, status_code: 503 },
    ]);
    expect(sink.received.map((request) => request.headers['x-hookgate-delivery-id'])).toEqual([deliveryId, deliveryId]);
  });

  it('stop during a claim in flight and running attempts: all recorded, claimed ones released at once, nothing POSTed twice', async () => {
    const sink = await receiver((_request, res, index) => {
      setTimeout(() => res.writeHead(200).end('ok'), index < 4 ? (index % 2 === 0 ? 100 : 1_200) : 20);
    });
    const ids = await seedPendingDeliveries(sql, { url: `${sink.url}/hook`, count: 20 });

    // Hold the worker's second claim after the database has executed it: a claim "in flight"
    // whose rows are already IN_FLIGHT under this worker's lease when stop() begins.
    let claims = 0;
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let claimHeld!: () => void;
    const held = new Promise<void>((resolve) => (claimHeld = resolve));
    // Hot statements go to the driver itself (prepared), so the gate sits on the driver's `unsafe`.
    type Driver = { unsafe(text: string, ...rest: unknown[]): Promise<unknown> };
    const driver = (handle.db as unknown as { $client: Driver }).$client;
    const gatedDriver = new Proxy(driver, {
      get(target, property, receiverObject) {
        if (property !== 'unsafe') return Reflect.get(target, property, receiverObject) as unknown;
        return async (text: string, ...rest: unknown[]) => {
          const result = await target.unsafe(text, ...rest);
          if (text.includes('skip locked') && ++claims === 2) {
            claimHeld();
            await gate;
          }
          return result;
        };
      },
    });
    const gated = new Proxy(handle.db, {
      get: (target, property, receiverObject) => (property === '$client' ? gatedDriver : (Reflect.get(target, property, receiverObject) as unknown)),
    });
    const first = worker({ db: gated, settings: { concurrency: 4, leaseMs: 30_000 }, id: 'worker-stopping' });
    await first.start();
    await held;
    const [inClaim] = await sql<{ count: number }[]>`
      select count(*)::int as count from deliveries where lease_owner = 'worker-stopping' and status = 'IN_FLIGHT'`;
    // Two long POSTs running, plus the held claim's rows.
    expect(inClaim!.count).toBeGreaterThanOrEqual(3);

    const stopping = first.stop();
    setTimeout(openGate, 100);
    await stopping;

    const counts = await statusCounts(ids);
    expect(counts.IN_FLIGHT ?? 0).toBe(0);
    expect((counts.SUCCEEDED ?? 0) + (counts.PENDING ?? 0)).toBe(20);
    // Everything POSTed before the stop finished is recorded; everything else was handed back.
    expect(counts.SUCCEEDED).toBe(sink.received.length);
    expect(counts.PENDING ?? 0).toBeGreaterThan(0);
    // Released rows are due now, with no attempt spent.
    const released = await sql<{ attempt_count: number; due_in_ms: number }[]>`
      select attempt_count, extract(epoch from next_attempt_at - now()) * 1000 as due_in_ms from deliveries
      where id = any(${ids}::uuid[]) and status = 'PENDING'`;
    expect(released.every((row) => row.attempt_count === 0 && row.due_in_ms <= 0)).toBe(true);

    // A second worker picks them up at once: long before the 30 s lease would have run out.
    const handedOver = Date.now();
    await worker({ id: 'worker-successor' }).start();
    await eventually(async () => ((await statusCounts(ids)).SUCCEEDED === 20 ? true : undefined), 10_000, 20);
    expect(Date.now() - handedOver).toBeLessThan(5_000);

    const posts = postsPerDelivery(sink);
    expect([...posts.values()].filter((count) => count !== 1)).toEqual([]);
    expect(new Set(posts.keys())).toEqual(new Set(ids));
    expect(await attemptsPerDelivery(ids)).toEqual(posts);
  });

  it('cuts attempts short at the end of the stop grace period and records them as ABORTED, to be retried', async () => {
    const sink = await receiver(() => {
      // never answers
    });
    // Two: a destination's adaptive window starts at 2 (issue 14), so two hang at once.
    const ids = await seedPendingDeliveries(sql, { url: `${sink.url}/hook`, count: 2 });
    const running = worker({ settings: { stopGraceMs: 200, timeoutMs: 10_000 } });
    await running.start();
    await eventually(async () => (sink.received.length === 2 ? true : undefined), 5_000, 20);
    const started = Date.now();
    await running.stop();
    expect(Date.now() - started).toBeLessThan(2_000);
    const rows = await sql<{ status: string; error_class: string }[]>`
      select d.status::text, a.error_class from deliveries d join delivery_attempts a on a.delivery_id = d.id where d.id = any(${ids}::uuid[])`;
    expect(rows).toEqual(Array.from({ length: 2 }, () => ({ status: 'RETRYING', error_class: 'ABORTED' })));
  });

  it('under load, every POST the receiver saw is a recorded attempt', async () => {
    const sink = await receiver((_request, res, index) => {
      if (index % 7 === 3) res.writeHead(503).end('busy');
      else if (index % 11 === 5) res.socket?.destroy();
      else res.writeHead(200).end('ok');
    });
    const ids = await seedPendingDeliveries(sql, { url: `${sink.url}/hook`, count: 600 });
    await Promise.all([worker({ settings: { concurrency: 16 } }).start(), worker({ settings: { concurrency: 16 } }).start()]);
    await eventually(async () => {
      const counts = await statusCounts(ids);
      return (counts.SUCCEEDED ?? 0) + (counts.FAILED ?? 0) === 600 ? true : undefined;
    }, 60_000, 100);
    const posts = postsPerDelivery(sink);
    expect(posts.size).toBe(600);
    expect(sink.received.length).toBeGreaterThan(600);
    expect(await attemptsPerDelivery(ids)).toEqual(posts);
  }, 90_000);

  it('claims by an index range cut at the claim size, at 100,000 due deliveries', async () => {
    const [seeded] = await seedPendingDeliveries(sql, { url: 'http://127.0.0.1:9/unused', count: 1 }).then(async (ids) =>
      sql<{ event_id: string; destination_id: string; integration_id: string }[]>`
        select event_id, destination_id, integration_id from deliveries where id = ${ids[0]!}`,
    );
    // One event behind 100,000 due deliveries (replays, so the one-dispatch-per-destination index
    // does not apply): the claim's plan depends on the deliveries table alone.
    await sql`
      insert into deliveries (event_id, destination_id, integration_id, trigger, next_attempt_at)
      select ${seeded!.event_id}, ${seeded!.destination_id}, ${seeded!.integration_id}, 'REPLAY', now() - interval '1 minute' * random()
      from generate_series(1, 100000)`;
    await sql`analyze deliveries`;
    const { sql: text, params } = new PgDialect().sqlToQuery(claimStatement('worker-plan', 32, 30_000));
    const plan = await sql.begin(async (tx) => {
      const [row] = await tx.unsafe<{ 'QUERY PLAN': unknown }[]>(`explain (analyze, buffers, format json) ${text}`, params as postgres.ParameterOrJSON<never>[]);
      throw Object.assign(new Error('rollback'), { plan: row!['QUERY PLAN'] });
    }).catch((error: { plan?: unknown }) => error.plan);
    type Node = { 'Node Type': string; 'Index Name'?: string; 'Actual Rows'?: number; 'Relation Name'?: string; Plans?: Node[] };
    const nodes: Node[] = [];
    const walk = (node: Node) => {
      nodes.push(node);
      for (const child of node.Plans ?? []) walk(child);
    };
    walk((plan as { Plan: Node }[])[0]!.Plan);
    const scansOfDeliveries = nodes.filter((node) => node['Relation Name'] === 'deliveries' && node['Node Type'] !== 'ModifyTable');
    const due = scansOfDeliveries.find((node) => node['Index Name'] === 'deliveries_due_idx');
    expect(due, JSON.stringify(plan)).toBeDefined();
    expect(due!['Node Type']).toBe('Index Scan');
    // Read in index order and stopped at the claim size: no sort, no scan of the backlog.
    expect(due!['Actual Rows']).toBeLessThanOrEqual(32);
    expect(nodes.some((node) => node['Node Type'] === 'Sort')).toBe(false);
    expect(nodes.some((node) => node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'deliveries')).toBe(false);
    expect(nodes.some((node) => node['Node Type'] === 'Limit')).toBe(true);
  }, 120_000);
});
