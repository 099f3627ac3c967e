import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createClient, type Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import WebSocket from 'ws';
import { baseChildEnv, requireServices } from './bench-env.js';
import { createBenchDatabase } from './bench-database.js';
import { freePort, peakRssBytes, startServerProcess, waitUntilAnswering, type ServerProcess } from './server-process.js';

/**
 * `npm run bench -- graph`: (1) `events(first: 50)` latency over a table of a million events;
 * (2) subscription fan-out: 1,000 graphql-ws subscribers receiving a burst of status changes,
 * against a bare `ws` broadcaster fed from the same Redis channel, in the same run.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EVENTS = Number(process.env.BENCH_GRAPH_EVENTS ?? 1_000_000);
const QUERIES = Number(process.env.BENCH_GRAPH_QUERIES ?? 400);
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
const BURST = Number(process.env.BENCH_BURST ?? 20);
const API_KEY = randomBytes(24).toString('hex');
const SENTINEL = '00000000-0000-4000-8000-00000000aaaa';

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
const summary = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? Number.NaN };
};

async function seedEvents(url: string, count: number): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const started = Date.now();
  try {
    const [integration] = await sql<{ id: string }[]>`
      insert into integrations (provider, name, scheme, secret) values ('acme', 'Acme', 'HMAC_SHA256', 'bench-secret-0123456789') returning id`;
    await sql`insert into integrations (provider, name, scheme, secret) values ('globex', 'Globex', 'SHARED_TOKEN', 'bench-secret-0123456789')`;
    const [globex] = await sql<{ id: string }[]>`select id from integrations where provider = 'globex'`;
    // Generated server-side: a million ~300-byte events in chunks, one provider in ten is globex.
    for (let from = 1; from <= count; from += 100_000) {
      const to = Math.min(count, from + 99_999);
      await sql`
        insert into events (id, integration_id, provider, event_key, event_type, raw_body, headers, payload, received_at, kafka_partition, kafka_offset, status)
        select md5('evt' || i)::uuid,
               case when i % 10 = 0 then ${globex!.id}::uuid else ${integration!.id}::uuid end,
               case when i % 10 = 0 then 'globex' else 'acme' end,
               'evt_' || i, 'order.created',
               convert_to(json_build_object('id', 'evt_' || i, 'type', 'order.created', 'amount', i % 1000, 'note', repeat('x', 200))::text, 'UTF8'),
               '{"content-type":"application/json"}'::jsonb,
               json_build_object('id', 'evt_' || i, 'type', 'order.created', 'amount', i % 1000, 'note', repeat('x', 200))::jsonb,
               now() - make_interval(secs => (${count} - i) / 100.0),
               i % 6, i,
               -- one event in fifty FAILED, as the status filter's target (the column is what triggers maintain)
               (case when i % 50 = 0 then 'FAILED' else 'DELIVERED' end)::event_status
        from generate_series(${from}::int, ${to}::int) as i`;
      process.stderr.write(`  seeded ${to} events\n`);
    }
    await sql`analyze events`;
  } finally {
    await sql.end();
  }
  return (Date.now() - started) / 1000;
}

async function timeQueries(url: string, query: string, variables: (index: number, previous: unknown) => Record<string, unknown>, count: number) {
  const latencies: number[] = [];
  let previous: unknown;
  for (let index = 0; index < count; index++) {
    const started = performance.now();
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-internal-api-key': API_KEY },
      body: JSON.stringify({ query, variables: variables(index, previous) }),
    });
    const body = (await response.json()) as { data?: unknown; errors?: unknown[] };
    latencies.push(performance.now() - started);
    if (body.errors) throw new Error(`query failed: ${JSON.stringify(body.errors)}`);
    previous = body.data;
  }
  return summary(latencies);
}

/** Connects `count` clients with `subscribe`; resolves once all have seen a sentinel message. */
async function fanOut(
  count: number,
  connect: (onMessage: (message: { deliveryId: string; at: string }) => void) => Promise<() => Promise<void>>,
  publish: (message: string) => Promise<void>,
) {
  const arrivals = new Map<string, number[]>();
  let sentinelsSeen = 0;
  const closers: (() => Promise<void>)[] = [];
  for (let i = 0; i < count; i++) {
    closers.push(
      await connect((message) => {
        const now = Date.now();
        if (message.deliveryId === SENTINEL) sentinelsSeen += 1;
        else arrivals.set(message.deliveryId, [...(arrivals.get(message.deliveryId) ?? []), now]);
      }),
    );
  }
  // Subscriptions are live once every client has seen one message.
  const deadline = Date.now() + 60_000;
  while (sentinelsSeen < count && Date.now() < deadline) {
    sentinelsSeen = 0;
    await publish(statusMessage(SENTINEL, new Date()));
    await sleep(500);
  }
  if (sentinelsSeen < count) throw new Error(`only ${sentinelsSeen} of ${count} subscribers became live`);
  await sleep(500);
  const published = new Map<string, number>();
  for (let i = 0; i < BURST; i++) {
    const id = randomUUID();
    const at = new Date();
    published.set(id, at.getTime());
    await publish(statusMessage(id, at));
    await sleep(10);
  }
  const settle = Date.now() + 30_000;
  while ([...published.keys()].some((id) => (arrivals.get(id)?.length ?? 0) < count) && Date.now() < settle) await sleep(100);
  const latencies: number[] = [];
  let missing = 0;
  for (const [id, at] of published) {
    const seen = arrivals.get(id) ?? [];
    missing += count - seen.length;
    for (const arrival of seen) latencies.push(arrival - at);
  }
  await Promise.all(closers.map((close) => close()));
  return { ...summary(latencies), missing };
}

function statusMessage(deliveryId: string, at: Date): string {
  return JSON.stringify({
    deliveryId,
    eventId: '00000000-0000-5000-8000-000000000001',
    integrationId: '00000000-0000-4000-8000-000000000002',
    destinationId: '00000000-0000-4000-8000-000000000003',
    previousStatus: 'IN_FLIGHT',
    status: 'SUCCEEDED',
    at: at.toISOString(),
  });
}

export async function runGraphBench(): Promise<void> {
  const services = requireServices();
  const runId = `graph-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const resultsDir = join(ROOT, 'bench-results', runId);
  await mkdir(resultsDir, { recursive: true });
  const prefix = `hookgate-bench:${randomBytes(4).toString('hex')}:`;
  const database = await createBenchDatabase(services.postgresUrl);
  const redis = new Redis(services.redisUrl);
  let api: ServerProcess | undefined;
  let broadcaster: ServerProcess | undefined;
  try {
    process.stderr.write(`graph bench: seeding ${EVENTS} events\n`);
    const seedSeconds = await seedEvents(database.url, EVENTS);

    const port = await freePort();
    api = startServerProcess({
      name: 'hookgate-graph',
      args: ['--import', 'tsx', 'src/main.ts'],
      cwd: ROOT,
      logFile: join(resultsDir, 'graph.log'),
      env: {
        ...baseChildEnv(),
        NODE_ENV: 'production',
        HOOKGATE_ROLE: 'graph',
        LOG_LEVEL: 'warn',
        MANAGEMENT_PORT: String(port),
        INGRESS_PORT: String(await freePort()),
        DATABASE_URL: database.url,
        REDIS_URL: services.redisUrl,
        REDIS_KEY_PREFIX: prefix,
        KAFKA_BROKERS: services.kafkaBrokers.join(','),
        MANAGEMENT_API_KEY: API_KEY,
      },
    });
    await waitUntilAnswering(api, `http://127.0.0.1:${port}/api/v1/health`, { status: 200, timeoutMs: 60_000 });
    const url = `http://127.0.0.1:${port}/graphql`;

    const page = `query ($after: String, $filter: EventFilter) { events(first: 50, after: $after, filter: $filter) {
      edges { node { id provider eventKey eventType receivedAt payload } } pageInfo { endCursor hasNextPage } } }`;
    const nextCursor = (previous: unknown) => (previous as { events: { pageInfo: { endCursor: string } } } | undefined)?.events.pageInfo.endCursor;
    await timeQueries(url, page, () => ({}), 30); // warm-up
    const firstPage = await timeQueries(url, page, () => ({}), QUERIES);
    const walking = await timeQueries(url, page, (_i, previous) => ({ after: nextCursor(previous) }), QUERIES);
    const filtered = await timeQueries(url, page, (_i, previous) => ({ after: nextCursor(previous), filter: { provider: 'globex' } }), QUERIES);
    const failedOnly = await timeQueries(url, page, (_i, previous) => ({ after: nextCursor(previous), filter: { status: 'FAILED' } }), QUERIES);
    const apiRss = await peakRssBytes(api.pid);

    process.stderr.write(`graph bench: ${SUBSCRIBERS} graphql-ws subscribers\n`);
    const channel = `${prefix}delivery.status`;
    let reportedError = false;
    const publish = async (message: string) => void (await redis.publish(channel, message));
    const graphqlWs = await fanOut(
      SUBSCRIBERS,
      async (onMessage) => {
        const client: Client = createClient({ url: url.replace('http', 'ws'), webSocketImpl: WebSocket, connectionParams: { 'x-internal-api-key': API_KEY }, lazy: false, retryAttempts: 0 });
        client.subscribe<{ deliveryStatusChanged: { deliveryId: string; at: string } }>(
          { query: 'subscription { deliveryStatusChanged { deliveryId status at } }' },
          {
            next: (value) => {
              if (value.data) onMessage(value.data.deliveryStatusChanged);
              else if (!reportedError) {
                reportedError = true;
                process.stderr.write(`subscription error: ${JSON.stringify(value.errors)}\n`);
              }
            },
            error: () => {},
            complete: () => {},
          },
        );
        return () => client.dispose() as Promise<void>;
      },
      publish,
    );
    const apiRssAfter = await peakRssBytes(api.pid);

    const wsPort = await freePort();
    broadcaster = startServerProcess({
      name: 'ws-broadcast',
      args: ['--import', 'tsx', fileURLToPath(new URL('./ws-broadcast-server.ts', import.meta.url)), String(wsPort), services.redisUrl, channel],
      cwd: ROOT,
      logFile: join(resultsDir, 'ws-broadcast.log'),
      env: baseChildEnv(),
    });
    await sleep(1500);
    process.stderr.write(`graph bench: ${SUBSCRIBERS} raw ws clients\n`);
    const rawWs = await fanOut(
      SUBSCRIBERS,
      async (onMessage) => {
        // The broadcaster may still be starting on a loaded machine: retry for a while.
        let socket: WebSocket | undefined;
        for (let attempt = 0; !socket; attempt++) {
          const candidate = new WebSocket(`ws://127.0.0.1:${wsPort}`);
          try {
            await new Promise<void>((resolve, reject) => {
              candidate.once('open', () => resolve());
              candidate.once('error', reject);
            });
            socket = candidate;
          } catch (error) {
            if (attempt >= 40) throw error;
            await sleep(250);
          }
        }
        socket.on('message', (data) => onMessage(JSON.parse(data.toString()) as { deliveryId: string; at: string }));
        return async () => socket.close();
      },
      publish,
    );

    const results = {
      date: new Date().toISOString(),
      events: EVENTS,
      seedSeconds,
      queries: { firstPage, walking, filtered, failedOnly, apiPeakRssBytes: apiRss },
      fanOut: { subscribers: SUBSCRIBERS, burst: BURST, graphqlWs, rawWs, apiPeakRssBytes: apiRssAfter },
    };
    await writeFile(join(resultsDir, 'graph.json'), JSON.stringify(results, null, 2));
    const ms = (value: number) => `${value.toFixed(1)} ms`;
    const mib = (bytes: number | null) => (bytes === null ? 'n/a' : `${(bytes / 1024 / 1024).toFixed(0)} MiB`);
    process.stdout.write(
      [
        `## Graph (${results.date})`,
        '',
        `events table: ${EVENTS.toLocaleString('en')} rows (seeded in ${seedSeconds.toFixed(0)} s); ${QUERIES} sequential queries per line`,
        '',
        '| query | p50 | p99 | max |',
        '|---|---|---|---|',
        `| events(first: 50), first page | ${ms(firstPage.p50)} | ${ms(firstPage.p99)} | ${ms(firstPage.max)} |`,
        `| events(first: 50, after: cursor), walking back | ${ms(walking.p50)} | ${ms(walking.p99)} | ${ms(walking.max)} |`,
        `| events(first: 50, after, filter: {provider}) | ${ms(filtered.p50)} | ${ms(filtered.p99)} | ${ms(filtered.max)} |`,
        `| events(first: 50, after, filter: {status: FAILED}) | ${ms(failedOnly.p50)} | ${ms(failedOnly.p99)} | ${ms(failedOnly.max)} |`,
        '',
        `API peak RSS after queries: ${mib(apiRss)}; after fan-out: ${mib(apiRssAfter)}`,
        '',
        `| fan-out: ${SUBSCRIBERS} subscribers × ${BURST} messages | p50 | p99 | max | missing |`,
        '|---|---|---|---|---|',
        `| Hookgate graphql-ws (Redis → API → subscribers) | ${ms(graphqlWs.p50)} | ${ms(graphqlWs.p99)} | ${ms(graphqlWs.max)} | ${graphqlWs.missing} |`,
        `| bare ws broadcast (Redis → ws → subscribers) | ${ms(rawWs.p50)} | ${ms(rawWs.p99)} | ${ms(rawWs.max)} | ${rawWs.missing} |`,
        '',
      ].join('\n'),
    );
  } finally {
    await api?.stop();
    await broadcaster?.stop(5_000);
    await redis.quit();
    await database.drop();
  }
}
