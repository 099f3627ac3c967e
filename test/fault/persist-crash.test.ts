import { Kafka, logLevel } from 'kafkajs';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { eventually } from '../helpers/app.js';
import { createHmacIntegration, destinationSecret, startAppOn, type InProcessApp } from '../helpers/app-on.js';
import { hookgateEnv, spawnHookgate, whenReady, type HookgateChild } from '../helpers/child-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { signers } from '../helpers/providers.js';
import { describeWithServices, services } from '../helpers/services.js';
import { postWebhook } from '../helpers/signing.js';

const DISTINCT = 2_000;
const DUPLICATES = 200;
const LATE_DISTINCT = 200;
const LATE_DUPLICATES = 100;
// ~3 KiB per webhook: at the consumer's 1 MiB per partition a fetch holds ~300 records, so the
// 2,000 events arrive in several batches per partition and a kill can land between or inside them.
const PADDING = 'x'.repeat(3_000);

/**
 * "Mid-batch" here: the persist child is SIGKILLed while it is part-way through the topic — some
 * batches committed to Postgres, the rest not — with no chance to finish a transaction, commit an
 * offset, release a Redis lock or leave the group. Whatever it was doing at that instant (a
 * transaction in flight, which Postgres rolls back; or a transaction committed whose offset was
 * never committed, which Kafka redelivers to the successor) must end with each event stored once.
 */
describeWithServices('a persist consumer SIGKILLed mid-batch (child processes)', ['kafka', 'postgres', 'redis'], () => {
  let database: TestDatabase;
  let sql: postgres.Sql;
  let app: InProcessApp;
  let env: Record<string, string>;
  const children: HookgateChild[] = [];
  const secret = `acme-secret-${crypto.randomUUID()}`;

  // A successor joins only once the group gives up on the killed member (its 6 s session timeout);
  // a loaded machine can take long to start a child, hence the generous ready timeout.
  const persistChild = async (name: string) => {
    const child = await spawnHookgate({ ...env, HOOKGATE_ROLE: 'persist' }, { name, readyTimeoutMs: 45_000 });
    children.push(child);
    return whenReady(child);
  };

  /** Sends in waves of 50 concurrent requests; every one must be accepted. Returns the event ids. */
  async function sendAll(ids: string[]): Promise<string[]> {
    const eventIds: string[] = [];
    for (let start = 0; start < ids.length; start += 50) {
      const wave = ids.slice(start, start + 50).map(async (id) => {
        const body = JSON.stringify({ id, padding: PADDING });
        const response = await postWebhook(app.ingressUrl!, 'acme', body, await signers.HMAC_SHA256!(body, secret));
        expect(response.status, JSON.stringify(response.body)).toBe(202);
        return response.body.eventId as string;
      });
      eventIds.push(...(await Promise.all(wave)));
    }
    return eventIds;
  }

  const countEvents = async () => (await sql<{ count: number }[]>`select count(*)::int as count from events`)[0]!.count;

  /** Sum over partitions of (end of the log − the group's committed offset). */
  async function consumerLag(): Promise<number> {
    const admin = new Kafka({ clientId: 'persist-crash-test', brokers: services.kafkaBrokers!.split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const ends = await admin.fetchTopicOffsets(env.KAFKA_TOPIC!);
      const [committed] = await admin.fetchOffsets({ groupId: env.KAFKA_CONSUMER_GROUP!, topics: [env.KAFKA_TOPIC!] });
      const at = new Map(committed!.partitions.map((partition) => [partition.partition, BigInt(partition.offset)]));
      return ends.reduce((lag, end) => {
        const position = at.get(end.partition) ?? -1n;
        return lag + Number(BigInt(end.high) - (position < 0n ? 0n : position));
      }, 0);
    } finally {
      await admin.disconnect();
    }
  }

  beforeAll(async () => {
    database = await createTestDatabase(services.testDatabaseUrl!);
    sql = postgres(database.url, { max: 2 });
    env = hookgateEnv(database.url, { DELIVERY_ALLOWED_HOSTS: '127.0.0.1', RATE_LIMIT_PER_MINUTE: '10000000' });
    app = await startAppOn({ ...env, HOOKGATE_ROLE: 'ingress,graph' });
    // A destination nobody serves (no delivery role runs): its pending deliveries only get counted.
    await createHmacIntegration(app, { provider: 'acme', secret, destinations: [{ url: 'http://127.0.0.1:9/hook', secret: destinationSecret() }] });
  });

  afterAll(async () => {
    await Promise.all(children.map((child) => child.kill('SIGKILL')));
    await app?.stop();
    await sql?.end();
    await database?.drop();
  });

  it('stores every accepted event exactly once after a SIGKILL and a restart in the same group', async () => {
    onTestFailed(() => console.error(`persist child logs: ${children.map((child) => child.logFile).join(', ')}`));

    // Everything is in Kafka before any consumer runs, so the first child has a full backlog.
    const early = Array.from({ length: DISTINCT }, (_, index) => `evt-${index}`);
    const earlyDuplicates = Array.from({ length: DUPLICATES }, (_, index) => `evt-${index * 7}`);
    const accepted = await sendAll([...early, ...earlyDuplicates]);
    const distinctAccepted = new Set(accepted);
    expect(distinctAccepted.size).toBe(DISTINCT);

    const first = await persistChild('persist-1');
    const storedAtKill = await eventually(
      async () => {
        const count = await countEvents();
        return count > 0 ? count : undefined;
      },
      30_000,
      5,
    );
    await first.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // The kill has to interrupt the work, or the restart proves nothing.
    expect(storedAtKill, 'the first child finished before it could be killed mid-way').toBeLessThan(DISTINCT);
    const lagAtKill = await consumerLag();
    expect(lagAtKill).toBeGreaterThan(0);

    // More sends while no consumer runs: new events, and duplicates of stored and unstored ones.
    const late = Array.from({ length: LATE_DISTINCT }, (_, index) => `late-${index}`);
    const lateDuplicates = Array.from({ length: LATE_DUPLICATES }, (_, index) => `evt-${DISTINCT - 1 - index * 13}`);
    for (const id of await sendAll([...late, ...lateDuplicates])) distinctAccepted.add(id);
    expect(distinctAccepted.size).toBe(DISTINCT + LATE_DISTINCT);

    await persistChild('persist-2');
    // Done = the group has committed the end of every partition (offsets move only after commits).
    await eventually(async () => ((await consumerLag()) === 0 ? true : undefined), 60_000, 250);

    const ids = [...distinctAccepted];
    const [events] = await sql<{ rows: number; distinct: number; accepted: number }[]>`
      select count(*)::int as rows, count(distinct id)::int as distinct,
             count(*) filter (where id = any(${ids}::uuid[]))::int as accepted
      from events`;
    expect(events).toEqual({ rows: ids.length, distinct: ids.length, accepted: ids.length });

    const perEvent = async (query: Promise<{ event_id: string; count: number }[]>) => {
      const rows = await query;
      expect(rows.filter((row) => row.count !== 1)).toEqual([]);
      expect(rows).toHaveLength(ids.length);
    };
    await perEvent(sql`
      select target_id as event_id, count(*)::int as count from audit_entries
      where action = 'event.received' group by target_id`);
    await perEvent(sql`select event_id, count(*)::int as count from deliveries where trigger = 'DISPATCH' group by event_id`);
  });
});
