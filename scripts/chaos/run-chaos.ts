import { createHmac, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AssignerProtocol, Kafka, logLevel } from 'kafkajs';
import postgres from 'postgres';
import { migrateDatabase } from '../../src/db/client.js';
import { spawnHookgate, whenReady, type HookgateChild } from '../../test/helpers/child-app.js';
import { startReceiver } from '../../test/helpers/receiver.js';
import { judgeLedger, type LedgerCheck } from './ledger.js';
import { startPrivateBroker, startRestartableRedis, stopPrivateBroker } from './private-services.js';
import { createSendLog, sendAll, type Webhook } from './senders.js';

/**
 * The fault ledger on the real services (issue 9): one ingress, two persist, one delivery and one
 * API process; providers that retry; a broker, persist processes, Redis and a delivery worker
 * taken away while webhooks flow; then a count of what was promised against what happened.
 */
export interface ChaosOptions {
  profile: 'full' | 'ci';
  senders: number;
  webhooks: number;
  /** An admin-capable Postgres URL; the run creates and drops a database of its own. */
  postgresUrl: string;
  workDir: string;
  say(line: string): void;
}

export interface Recovery {
  fault: string;
  measure: string;
  ms: number | null;
  targetMs: number;
}

export interface ChaosReport {
  ok: boolean;
  checks: LedgerCheck[];
  recoveries: Recovery[];
  counts: Record<string, number>;
  logLines: Record<string, Record<string, number>>;
  durationMs: number;
  workDir: string;
}

const API_KEY = 'chaos-management-key-0123456789abcdef';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Step {
  /** Quiet time after the previous fault was undone, so each recovery is measured on its own. */
  gapMs: number;
  fault: 'broker' | 'persist-a' | 'persist-b' | 'redis' | 'delivery';
  downMs: number;
}

/**
 * The faults, in order, and the pace of the senders. The pace is chosen so that webhooks keep
 * flowing through every fault even on a loaded machine (stopping and starting a broker takes
 * 10–30 s there); once the last fault is undone, the rest is sent as fast as the senders can.
 */
const SCHEDULES: Record<ChaosOptions['profile'], { ratePerSecond: number; steps: Step[] }> = {
  full: {
    ratePerSecond: 50,
    steps: [
      { gapMs: 8_000, fault: 'broker', downMs: 10_000 },
      { gapMs: 12_000, fault: 'persist-a', downMs: 10_000 },
      { gapMs: 12_000, fault: 'redis', downMs: 10_000 },
      { gapMs: 8_000, fault: 'broker', downMs: 10_000 },
      { gapMs: 12_000, fault: 'persist-b', downMs: 10_000 },
      { gapMs: 12_000, fault: 'delivery', downMs: 5_000 },
    ],
  },
  ci: {
    ratePerSecond: 25,
    steps: [
      { gapMs: 4_000, fault: 'broker', downMs: 6_000 },
      { gapMs: 10_000, fault: 'persist-a', downMs: 6_000 },
      { gapMs: 10_000, fault: 'redis', downMs: 5_000 },
      { gapMs: 4_000, fault: 'delivery', downMs: 3_000 },
    ],
  },
};

function webhooksFor(count: number, secret: string, run: string): { list: Webhook[]; distinct: Map<string, Buffer> } {
  const distinct = new Map<string, Buffer>();
  const list: Webhook[] = [];
  const make = (key: string, body: Buffer): Webhook => ({
    key,
    body,
    headers: { 'content-type': 'application/json', 'x-acme-signature': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` },
  });
  for (let i = 0; i < count; i++) {
    const key = `evt_${run}_${i}`;
    const body = Buffer.from(JSON.stringify({ id: key, type: 'order.created', sequence: i, data: { amount: i * 7, note: randomBytes(48).toString('base64') } }));
    distinct.set(key, body);
    list.push(make(key, body));
  }
  // 10% re-sends of earlier webhooks, a little later in the run, as providers do.
  const resends = Math.round(count / 10);
  for (let i = 0; i < resends; i++) {
    const original = list[Math.floor(Math.random() * count)]!;
    const at = Math.min(list.length, Math.floor(Math.random() * list.length) + 50);
    list.splice(at, 0, make(original.key, original.body));
  }
  return { list, distinct };
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const schedule = SCHEDULES[options.profile];
  const run = randomBytes(4).toString('hex');
  const say = (line: string) => options.say(`[chaos ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);
  await mkdir(options.workDir, { recursive: true });

  const cleanups: (() => Promise<unknown>)[] = [];
  const children = new Map<string, HookgateChild>();
  // Ctrl-C or a SIGTERM mid-run: the run's processes die at once, and the run stops at its next
  // step through the same clean-up as a finished run (broker, redis-server), or they would
  // outlive the harness and hold ports and CPU.
  let interruptedBy: NodeJS.Signals | undefined;
  let finished!: () => void;
  const cleanedUp = new Promise<void>((resolve) => (finished = resolve));
  const interrupted = (signal: NodeJS.Signals) => {
    // A second signal (tsx passes Ctrl-C on, pkill may reach both) must not cut the clean-up short.
    if (interruptedBy) return;
    interruptedBy = signal;
    say(`${signal}: stopping the run's processes and services`);
    for (const child of children.values()) void child.kill('SIGKILL').catch(() => {});
    void Promise.race([cleanedUp, sleep(120_000)]).then(async () => {
      await stopPrivateBroker(join(options.workDir, 'services')).catch(() => {});
      process.exit(130);
    });
  };
  const goOn = () => {
    if (interruptedBy) throw new Error(`interrupted by ${interruptedBy}`);
  };
  process.on('SIGINT', interrupted).on('SIGTERM', interrupted);
  const expectedExits = new Set<number>();
  const unexpectedExits: string[] = [];
  try {
    say(`starting a private Kafka broker and redis-server; work folder ${options.workDir}`);
    const broker = await startPrivateBroker(join(options.workDir, 'services'));
    cleanups.push(() => broker.wipe());
    goOn();
    const redis = await startRestartableRedis();
    cleanups.push(() => redis.stop());

    const databaseName = `hookgate_chaos_${run}`;
    // Create and drop through the `postgres` database: the URL's own database need not exist.
    const adminUrl = Object.assign(new URL(options.postgresUrl), { pathname: '/postgres' }).toString();
    const adminSql = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await adminSql.unsafe(`create database "${databaseName}"`);
    cleanups.push(async () => {
      await adminSql.unsafe(`drop database if exists "${databaseName}" with (force)`);
      await adminSql.end();
    });
    const databaseUrl = Object.assign(new URL(options.postgresUrl), { pathname: `/${databaseName}` }).toString();
    await migrateDatabase(databaseUrl);
    const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
    cleanups.push(() => sql.end());

    const receiver = await startReceiver();
    cleanups.push(() => receiver.stop());

    const env: Record<string, string> = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `hookgate-chaos:${run}:`,
      KAFKA_BROKERS: broker.brokers,
      KAFKA_TOPIC: `hookgate.chaos.${run}.ingress`,
      KAFKA_DLQ_TOPIC: `hookgate.chaos.${run}.dlq`,
      KAFKA_CONSUMER_GROUP: `hookgate-chaos-${run}`,
      KAFKA_TOPIC_PARTITIONS: '6',
      MANAGEMENT_API_KEY: API_KEY,
      // One key for the run's processes: secrets written by the API are read by ingress and delivery.
      HOOKGATE_ENCRYPTION_KEYS: randomBytes(32).toString('base64'),
      DELIVERY_ALLOWED_HOSTS: '127.0.0.1',
      RATE_LIMIT_PER_MINUTE: '10000000',
      DELIVERY_RETRY_SCHEDULE: '1,2,5,10,20,30,60',
    };

    const spawnRole = async (name: string, role: string) => {
      goOn();
      const child = await spawnHookgate({ ...env, HOOKGATE_ROLE: role, KAFKA_CLIENT_ID: `chaos-${name}` }, { name, logFile: join(options.workDir, `${name}-${children.size}.log`), readyTimeoutMs: 180_000 });
      children.set(name, child);
      void child.exited.then(({ code, signal }) => {
        if (!expectedExits.has(child.pid)) unexpectedExits.push(`${name} (pid ${child.pid}) exited: code ${code}, signal ${signal}`);
      });
      return whenReady(child);
    };
    const kill = async (name: string) => {
      const child = children.get(name)!;
      expectedExits.add(child.pid);
      await child.kill('SIGKILL');
    };

    const api = await spawnRole('api', 'graph');
    const { management } = await api.ready;
    const secret = `chaos-${randomBytes(16).toString('hex')}`;
    const created = await fetch(`${management}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-internal-api-key': API_KEY },
      body: JSON.stringify({
        query: `mutation ($input: CreateIntegrationInput!) { createIntegration(input: $input) { __typename ... on Integration { id } ... on Error { message } } }`,
        variables: {
          input: {
            provider: 'acme',
            name: 'Acme (chaos)',
            verification: { scheme: 'HMAC_SHA256', secret, eventKeyPath: '$.id' },
            destinations: [{ url: `${receiver.url}/hooks` }],
          },
        },
      }),
    }).then((response) => response.json() as Promise<{ data?: { createIntegration?: { __typename: string } } }>);
    if (created.data?.createIntegration?.__typename !== 'Integration') throw new Error(`createIntegration failed: ${JSON.stringify(created)}`);

    const ingress = await spawnRole('ingress', 'ingress');
    await spawnRole('persist-a', 'persist');
    await spawnRole('persist-b', 'persist');
    await spawnRole('delivery', 'delivery');
    const ingressUrl = `${(await ingress.ready).ingress}/api/v1/webhooks/acme`;
    say(`five processes up (ingress, persist ×2, delivery, api); ${options.senders} senders, ${options.webhooks} webhooks + 10% re-sends at ${schedule.ratePerSecond}/s`);

    // What the database holds, sampled, so recovery times can be read off afterwards.
    const storedSamples: [number, number][] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [row] = await sql<{ count: number }[]>`select count(*)::int as count from events`.catch(() => [{ count: -1 }]);
        storedSamples.push([Date.now(), row!.count]);
        await sleep(200);
      }
    })();

    const { list, distinct } = webhooksFor(options.webhooks, secret, run);
    const sendStarted = Date.now();
    const sendLog = createSendLog();
    const sending = sendAll(list, {
      url: ingressUrl,
      concurrency: options.senders,
      ratePerSecond: schedule.ratePerSecond,
      deadline: sendStarted + (list.length / schedule.ratePerSecond + 240) * 1000,
    }, sendLog);

    const admin = new Kafka({ clientId: 'chaos-ledger', brokers: [broker.brokers], logLevel: logLevel.NOTHING, retry: { retries: 2 } }).admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    const committed = async (): Promise<Map<number, bigint>> => {
      // Right after a broker restart the coordinator moves around for a moment: ask again.
      for (let attempt = 0; ; attempt++) {
        try {
          const [offsets] = await admin.fetchOffsets({ groupId: env.KAFKA_CONSUMER_GROUP!, topics: [env.KAFKA_TOPIC!] });
          return new Map(offsets!.partitions.map((p) => [p.partition, BigInt(p.offset)]));
        } catch (error) {
          if (attempt >= 50) throw error;
          await sleep(200);
        }
      }
    };

    /** How many partitions each group member holds, by the client id of its process. */
    const assignments = async (): Promise<Map<string, number>> => {
      const { groups } = await admin.describeGroups([env.KAFKA_CONSUMER_GROUP!]);
      const held = new Map<string, number>();
      for (const member of groups[0]?.members ?? []) {
        const assignment = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
        const count = Object.values(assignment?.assignment ?? {}).reduce((sum, partitions) => sum + partitions.length, 0);
        held.set(member.clientId, (held.get(member.clientId) ?? 0) + count);
      }
      return held;
    };

    const recoveries: Recovery[] = [];
    const pendingMeasures: Promise<void>[] = [];
    const firstAfter = (times: number[], since: number) => times.find((at) => at >= since);
    const accepted202After = async (since: number, timeoutMs: number): Promise<number | null> => {
      while (Date.now() < since + timeoutMs) {
        const first = firstAfter(sendLog.acceptedAt, since);
        if (first !== undefined) return first - since;
        await sleep(100);
      }
      return null;
    };
    const storedGrewAfter = async (since: number, timeoutMs: number): Promise<number | null> => {
      const deadline = since + timeoutMs;
      while (Date.now() < deadline) {
        const base = [...storedSamples].reverse().find(([at]) => at <= since)?.[1] ?? 0;
        const grown = storedSamples.find(([at, count]) => at > since && count > base);
        if (grown) return grown[0] - since;
        await sleep(200);
      }
      return null;
    };

    for (const step of schedule.steps) {
      await sleep(step.gapMs);
      goOn();
      if (step.fault === 'broker') {
        say('broker: stopping');
        await broker.stop();
        await sleep(step.downMs);
        await broker.start();
        const back = Date.now();
        say('broker: answering again');
        pendingMeasures.push(
          (async () => {
            const [first202, stored] = await Promise.all([accepted202After(back, 60_000), storedGrewAfter(back, 60_000)]);
            await sleep(10_000);
            const held = await assignments().catch(() => new Map<string, number>());
            say(`broker: 10 s after recovery the group holds ${JSON.stringify(Object.fromEntries(held))}`);
            recoveries.push({ fault: 'broker restart', measure: 'first 202 after the broker answers', ms: first202, targetMs: 5_000 });
            recoveries.push({ fault: 'broker restart', measure: 'first event stored after the broker answers', ms: stored, targetMs: 5_000 });
          })(),
        );
      } else if (step.fault === 'persist-a' || step.fault === 'persist-b') {
        const held = await assignments().catch(() => new Map<string, number>());
        say(`${step.fault}: SIGKILL (it holds ${held.get(`chaos-${step.fault}`) ?? 0} partitions; group: ${JSON.stringify(Object.fromEntries(held))})`);
        await kill(step.fault);
        const killedAt = Date.now();
        // Read after the kill: until then the victim was still committing, and a position read
        // earlier would count its own last commits as a successor's.
        const before = await committed();
        pendingMeasures.push(
          (async () => {
            const deadline = killedAt + 60_000;
            let resumed: number | null = null;
            while (Date.now() < deadline) {
              const now = await committed().catch(() => undefined);
              if (now && [...before].every(([partition, offset]) => (now.get(partition) ?? -1n) > offset)) {
                resumed = Date.now() - killedAt;
                break;
              }
              await sleep(250);
            }
            const victimHeld = held.get(`chaos-${step.fault}`) ?? 0;
            recoveries.push({ fault: `${step.fault} SIGKILLed (held ${victimHeld} partitions)`, measure: 'every partition consumed again', ms: resumed, targetMs: 10_000 });
          })(),
        );
        await sleep(step.downMs);
        await spawnRole(step.fault, 'persist');
        say(`${step.fault}: restarted`);
      } else if (step.fault === 'redis') {
        say('redis: killed');
        await redis.kill();
        await sleep(step.downMs);
        await redis.start();
        say('redis: back');
      } else {
        say('delivery: SIGKILL');
        await kill('delivery');
        await sleep(step.downMs);
        await spawnRole('delivery', 'delivery');
        say('delivery: restarted');
      }
    }

    await sleep(5_000);
    sending.hurry();
    await sending.done;
    say(`sending done: ${sendLog.accepted.size} accepted; waiting for storage and delivery to drain`);
    await Promise.all(pendingMeasures);

    const acceptedIds = new Set(sendLog.accepted.values());
    const drainDeadline = Date.now() + 180_000;
    const delivered = () => new Set(receiver.received.map((request) => request.headers['webhook-id']));
    for (;;) {
      const [row] = await sql<{ count: number }[]>`select count(*)::int as count from events`;
      const seen = delivered();
      const undelivered = [...acceptedIds].filter((id) => !seen.has(id)).length;
      if ((row!.count >= acceptedIds.size && undelivered === 0) || Date.now() > drainDeadline) break;
      await sleep(500);
    }
    sampling = false;
    await sampler;

    const rows = await sql<{ id: string; raw_body: Buffer }[]>`select id::text as id, raw_body from events`;
    const deliveries = new Map<string, number>();
    for (const request of receiver.received) {
      const id = request.headers['webhook-id']!;
      deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
    }
    for (const [name, child] of children) {
      if (child.pid && !expectedExits.has(child.pid) && (await Promise.race([child.exited.then(() => true), sleep(0).then(() => false)])))
        if (!unexpectedExits.some((line) => line.startsWith(name))) unexpectedExits.push(`${name} is not running`);
    }
    // For a reader of a failed run: when each duplicated webhook arrived, and what was recorded.
    const duplicated = [...deliveries].filter(([, posts]) => posts > 1).map(([id]) => id).slice(0, 20);
    if (duplicated.length > 0) {
      const attempts = await sql`
        select d.event_id::text as event_id, a.* from delivery_attempts a join deliveries d on d.id = a.delivery_id
        where d.event_id = any(${duplicated}::uuid[]) order by d.event_id, a.started_at`.catch((error: Error) => [{ error: error.message }]);
      const seen = receiver.received.filter((request) => duplicated.includes(request.headers['webhook-id']!)).map((request) => ({ id: request.headers['webhook-id'], at: new Date(request.at).toISOString() }));
      await writeFile(join(options.workDir, 'duplicates.json'), JSON.stringify({ seen, attempts }, null, 2));
    }
    const judged = judgeLedger({
      sent: distinct,
      accepted: sendLog.accepted,
      stored: new Map(rows.map((row) => [row.id, Buffer.from(row.raw_body)])),
      deliveries,
      statuses: sendLog.statuses,
      violations: sendLog.violations,
      connectionErrors: sendLog.connectionErrors,
      connectionErrorSamples: sendLog.connectionErrorSamples,
      gaveUp: sendLog.gaveUp,
      unexpectedExits,
      maxDuplicateRatio: 0.01,
    });

    const logLines: Record<string, Record<string, number>> = {};
    for (const [name, child] of children) {
      const text = await readFile(child.logFile, 'utf8').catch(() => '');
      const levels: Record<string, number> = {};
      for (const line of text.split('\n')) {
        const level = /"level":"?(\w+)"?/.exec(line)?.[1];
        if (level) levels[level] = (levels[level] ?? 0) + 1;
      }
      logLines[name] = levels;
    }
    return { ok: judged.ok, checks: judged.checks, recoveries, counts: judged.counts, logLines, durationMs: Date.now() - started, workDir: options.workDir };
  } finally {
    for (const child of children.values()) {
      expectedExits.add(child.pid);
      await child.kill('SIGTERM').catch(() => {});
    }
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => say(`cleanup failed: ${(error as Error).message}`));
    finished();
    if (!interruptedBy) process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
  }
}
