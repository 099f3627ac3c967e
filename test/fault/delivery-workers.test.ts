import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, expect, it, onTestFailed } from 'vitest';
import { eventually } from '../helpers/app.js';
import { hookgateEnv, spawnHookgate, whenReady, type HookgateChild } from '../helpers/child-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startReceiver, type ReceivedRequest } from '../helpers/receiver.js';
import { seedPendingDeliveries } from '../helpers/seed.js';
import { describeWithServices, services } from '../helpers/services.js';

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

describeWithServices('delivery workers as separate processes on one database', ['kafka', 'postgres', 'redis'], () => {
  let database: TestDatabase;
  let sql: postgres.Sql;
  let children: HookgateChild[] = [];
  let receivers: Receiver[] = [];

  const worker = async (name: string, env: Record<string, string>) => {
    const child = await spawnHookgate({ ...env, HOOKGATE_ROLE: 'delivery' }, { name });
    children.push(child);
    return whenReady(child);
  };

  /** Who holds the lease right now: while a request is at the receiver, that is the worker sending it. */
  const leaseOwner = async (deliveryId: string) =>
    (await sql<{ lease_owner: string | null }[]>`select lease_owner from deliveries where id = ${deliveryId}`)[0]?.lease_owner ?? null;

  const deliveryIdOf = (request: ReceivedRequest) => request.headers['x-hookgate-delivery-id']!;

  beforeAll(async () => {
    database = await createTestDatabase(services.testDatabaseUrl!);
    sql = postgres(database.url, { max: 8 });
  });

  afterEach(async () => {
    await Promise.all(children.map((child) => child.kill('SIGKILL')));
    await Promise.all(receivers.map((receiver) => receiver.stop()));
    children = [];
    receivers = [];
  });

  afterAll(async () => {
    await sql?.end();
    await database?.drop();
  });

  it('two workers share 300 deliveries and each is POSTed, attempted and recorded exactly once', async () => {
    onTestFailed(() => console.error(`worker logs: ${children.map((child) => child.logFile).join(', ')}`));
    const ownerAtReceipt = new Map<string, string | null>();
    const receiver = await startReceiver((request, res) => {
      leaseOwner(deliveryIdOf(request))
        .then((owner) => ownerAtReceipt.set(deliveryIdOf(request), owner))
        .catch(() => ownerAtReceipt.set(deliveryIdOf(request), null))
        .finally(() => setTimeout(() => res.writeHead(200).end('ok'), 5 + Math.random() * 25));
    });
    receivers.push(receiver);
    // Small concurrency and a short poll: neither worker can take the whole backlog in one claim.
    const env = hookgateEnv(database.url, { DELIVERY_ALLOWED_HOSTS: '127.0.0.1', DELIVERY_CONCURRENCY: '8', DELIVERY_POLL_INTERVAL_MS: '100' });
    await Promise.all([worker('delivery-a', env), worker('delivery-b', env)]);

    const ids = await seedPendingDeliveries(sql, { url: `${receiver.url}/hook`, count: 300 });
    await eventually(
      async () => {
        const [row] = await sql<{ done: number }[]>`
          select count(*)::int as done from deliveries where id = any(${ids}::uuid[]) and status = 'SUCCEEDED'`;
        return row!.done === ids.length ? true : undefined;
      },
      60_000,
      200,
    );
    // A late duplicate POST (a second claim of a finished delivery) would show up here.
    await new Promise((resolve) => setTimeout(resolve, 500));

    const perDelivery = new Map<string, number>();
    for (const request of receiver.received) perDelivery.set(deliveryIdOf(request), (perDelivery.get(deliveryIdOf(request)) ?? 0) + 1);
    expect(new Set(perDelivery.keys())).toEqual(new Set(ids));
    expect([...perDelivery.values()].filter((count) => count !== 1)).toEqual([]);

    const attempts = await sql<{ delivery_id: string; attempts: number; numbers: number[]; codes: number[]; attempt_count: number }[]>`
      select d.id as delivery_id, count(a.id)::int as attempts, array_agg(a.attempt_number) as numbers,
             array_agg(a.status_code) as codes, d.attempt_count
      from deliveries d left join delivery_attempts a on a.delivery_id = d.id
      where d.id = any(${ids}::uuid[]) group by d.id`;
    expect(attempts).toHaveLength(ids.length);
    expect(attempts.filter((row) => row.attempts !== 1 || row.numbers[0] !== 1 || row.codes[0] !== 200 || row.attempt_count !== 1)).toEqual([]);

    // Both processes did part of the work: each request was sent under exactly one worker's lease.
    const byOwner = new Map<string | null, number>();
    for (const owner of ownerAtReceipt.values()) byOwner.set(owner, (byOwner.get(owner) ?? 0) + 1);
    expect(byOwner.has(null), 'a request arrived for a delivery nobody had leased').toBe(false);
    expect(byOwner.size).toBe(2);
    expect(Math.min(...byOwner.values())).toBeGreaterThan(0);
    expect([...byOwner.values()].reduce((sum, count) => sum + count, 0)).toBe(ids.length);
  });

  it('a worker SIGKILLed mid-delivery: the delivery completes after its lease expires, as attempt 2', async () => {
    onTestFailed(() => console.error(`worker logs: ${children.map((child) => child.logFile).join(', ')}`));
    // Long enough that the successor (a fresh process: several seconds on a loaded machine) is up first.
    const LEASE_MS = 8000;
    const ownerAtReceipt: (string | null)[] = [];
    const receiver = await startReceiver((request, res, index) => {
      leaseOwner(deliveryIdOf(request))
        .then((owner) => ownerAtReceipt.push(owner))
        .catch(() => ownerAtReceipt.push(null))
        .finally(() => {
          // The first request is never answered: its worker dies holding it.
          if (index > 0) res.writeHead(200).end('ok');
        });
    });
    receivers.push(receiver);
    const env = hookgateEnv(database.url, {
      DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
      DELIVERY_LEASE_MS: String(LEASE_MS),
      DELIVERY_TIMEOUT_MS: '10000',
      DELIVERY_POLL_INTERVAL_MS: '100',
    });
    const first = await worker('delivery-killed', env);

    const [deliveryId] = await seedPendingDeliveries(sql, { url: `${receiver.url}/hook`, count: 1 });
    await eventually(async () => (receiver.received.length === 1 ? true : undefined), 10_000, 10);
    const [claim] = await sql<{ status: string; attempt_count: number; lease_owner: string; lease_expires_at: Date }[]>`
      select status, attempt_count, lease_owner, lease_expires_at from deliveries where id = ${deliveryId!}`;
    expect(claim).toMatchObject({ status: 'IN_FLIGHT', attempt_count: 1 });
    await first.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });

    // The successor polls every 100 ms from the moment it is up; only the lease keeps it off.
    await worker('delivery-successor', env);
    const successorReadyAt = Date.now();
    expect(successorReadyAt, 'the successor must be polling while the lease still holds').toBeLessThan(claim!.lease_expires_at.getTime());

    const [done] = await eventually(
      async () => {
        const rows = await sql<{ status: string; attempt_count: number; lease_owner: string | null; last_status_code: number | null }[]>`
          select status, attempt_count, lease_owner, last_status_code from deliveries where id = ${deliveryId!}`;
        return rows[0]?.status === 'SUCCEEDED' ? rows : undefined;
      },
      20_000,
      50,
    );
    expect(done).toEqual({ status: 'SUCCEEDED', attempt_count: 2, lease_owner: null, last_status_code: 200 });

    const [killed, retried] = receiver.received;
    expect(receiver.received).toHaveLength(2);
    expect(deliveryIdOf(retried!)).toBe(deliveryId);
    expect(deliveryIdOf(killed!)).toBe(deliveryId);
    expect(retried!.headers['webhook-id']).toBe(killed!.headers['webhook-id']);
    expect(retried!.headers['x-request-id']).not.toBe(killed!.headers['x-request-id']);
    // Not before the dead worker's lease ran out (same host, so the database's clock is ours).
    expect(retried!.at).toBeGreaterThanOrEqual(claim!.lease_expires_at.getTime());
    expect(retried!.at - killed!.at).toBeGreaterThanOrEqual(LEASE_MS - 500);
    expect(ownerAtReceipt).toHaveLength(2);
    expect(ownerAtReceipt[0]).toBe(claim!.lease_owner);
    expect(ownerAtReceipt[1]).not.toBe(claim!.lease_owner);
    expect(ownerAtReceipt[1]).toMatch(/^worker-/);

    // The killed attempt never finished, so it left no row; the claim that succeeded was the second.
    const attempts = await sql<{ attempt_number: number; status_code: number | null }[]>`
      select attempt_number, status_code from delivery_attempts where delivery_id = ${deliveryId!}`;
    expect(attempts).toEqual([{ attempt_number: 2, status_code: 200 }]);
  });

  it('SIGTERM while attempts run: the process exits with every delivery recorded or released, and a successor sends the rest at once', async () => {
    onTestFailed(() => console.error(`worker logs: ${children.map((child) => child.logFile).join(', ')}`));
    const receiver = await startReceiver((_request, res) => {
      setTimeout(() => res.writeHead(200).end('ok'), 50 + Math.random() * 400);
    });
    receivers.push(receiver);
    // A lease far longer than the test: anything left IN_FLIGHT would stay stuck and show.
    const env = hookgateEnv(database.url, {
      DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
      DELIVERY_CONCURRENCY: '8',
      DELIVERY_POLL_INTERVAL_MS: '50',
      DELIVERY_LEASE_MS: '600000',
    });
    const first = await worker('delivery-terminated', env);
    const ids = await seedPendingDeliveries(sql, { url: `${receiver.url}/hook`, count: 120 });
    await eventually(async () => (receiver.received.length >= 20 ? true : undefined), 20_000, 10);
    const signalledAt = Date.now();
    await first.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
    const seenBeforeExit = receiver.received.length;

    const states = await sql<{ status: string; attempt_count: number; lease_owner: string | null; attempts: number }[]>`
      select d.status::text, d.attempt_count, d.lease_owner, (select count(*)::int from delivery_attempts a where a.delivery_id = d.id) as attempts
      from deliveries d where d.id = any(${ids}::uuid[])`;
    expect(states.filter((row) => row.status === 'IN_FLIGHT' || row.lease_owner !== null)).toEqual([]);
    // Each POST made before the exit is recorded; what was not sent waits, unspent, due now.
    expect(states.filter((row) => row.status === 'SUCCEEDED').length).toBe(seenBeforeExit);
    expect(states.filter((row) => row.status === 'PENDING').every((row) => row.attempt_count === 0 && row.attempts === 0)).toBe(true);
    expect(states.filter((row) => row.status !== 'SUCCEEDED' && row.status !== 'PENDING')).toEqual([]);

    const successorStarted = Date.now();
    await worker('delivery-after-terminate', env);
    await eventually(
      async () => {
        const [row] = await sql<{ done: number }[]>`
          select count(*)::int as done from deliveries where id = any(${ids}::uuid[]) and status = 'SUCCEEDED'`;
        return row!.done === ids.length ? true : undefined;
      },
      60_000,
      100,
    );
    expect(Date.now() - successorStarted).toBeLessThan(60_000);
    await new Promise((resolve) => setTimeout(resolve, 300));

    const perDelivery = new Map<string, number>();
    for (const request of receiver.received) perDelivery.set(deliveryIdOf(request), (perDelivery.get(deliveryIdOf(request)) ?? 0) + 1);
    expect(new Set(perDelivery.keys())).toEqual(new Set(ids));
    expect([...perDelivery.values()].filter((count) => count !== 1)).toEqual([]);
    const [attempts] = await sql<{ count: number }[]>`select count(*)::int as count from delivery_attempts where delivery_id = any(${ids}::uuid[])`;
    expect(attempts!.count).toBe(ids.length);
  }, 120_000);
});
