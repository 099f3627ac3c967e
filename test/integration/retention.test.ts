import { randomUUID } from 'node:crypto';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.js';
import * as schema from '../../src/db/schema.js';
import { purgeExpired } from '../../src/consumers/retention.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { describeWithServices } from '../helpers/services.js';
import { hexHmac, postWebhook } from '../helpers/signing.js';

const OLD = 40_000; // older than METADATA_RETENTION_DAYS: rows, deliveries and attempts go
const AGED = 30_000; // older than RETENTION_DAYS only: bodies go, rows stay
const RECENT = 30_000; // kept whole

describeWithServices('retention on real Postgres at 100,000 events', ['kafka', 'postgres', 'redis'], () => {
  let app: TestApp;
  let sql: postgres.Sql;
  let db: Database;
  const secret = `retention-secret-${randomUUID()}`;
  let integrationId = '';
  const settings = { bodyDays: 30, metadataDays: 35, batchSize: 500, intervalMs: 60_000 };

  beforeAll(async () => {
    app = await startTestApp({ DELIVERY_ALLOWED_HOSTS: '127.0.0.1' });
    sql = postgres(app.database.url, { max: 4 });
    db = drizzle(sql, { schema }) as unknown as Database;
    const created = await app.graphql<{ createIntegration: { __typename: string; id: string } }>(
      `mutation ($input: CreateIntegrationInput!) { createIntegration(input: $input) { __typename ... on Integration { id } } }`,
      { input: { provider: 'keep', name: 'Keep', verification: { scheme: 'HMAC_SHA256', secret, header: 'x-keep-sig', eventKeyPath: '$.id' }, rateLimitPerMinute: 1_000_000 } },
    );
    integrationId = created.data!.createIntegration.id;
    const [destination] = await sql<{ id: string }[]>`
      insert into destinations (integration_id, url, secret) values (${integrationId}, 'http://127.0.0.1:9/in', ${'whsec_' + Buffer.from(randomUUID() + randomUUID()).toString('base64')}) returning id`;
    // 100,000 events in three ages, one final delivery each, and an attempt for every old one.
    await sql`
      insert into events (id, integration_id, provider, event_key, raw_body, payload, headers, received_at)
      select gen_random_uuid(), ${integrationId}, 'keep', 'seed-' || n, convert_to('{"n":' || n || '}', 'UTF8'), jsonb_build_object('n', n),
             '{"user-agent":"seed"}'::jsonb,
             case when n <= ${OLD} then now() - interval '40 days' - n * interval '1 second'
                  when n <= ${OLD + AGED} then now() - interval '32 days' - n * interval '1 second'
                  else now() - interval '1 hour' - n * interval '1 second' end
      from generate_series(1, ${OLD + AGED + RECENT}) as n`;
    await sql`
      insert into deliveries (event_id, destination_id, integration_id, status)
      select id, ${destination!.id}, ${integrationId}, 'SUCCEEDED' from events where provider = 'keep'`;
    await sql`
      insert into delivery_attempts (delivery_id, attempt_number, started_at, duration_ms, status_code, created_at)
      select d.id, 1, e.received_at, 5, 200, e.received_at from deliveries d join events e on e.id = d.event_id
      where e.received_at < now() - interval '35 days'`;
    await sql`analyze`;
  }, 300_000);

  afterAll(async () => {
    await sql?.end();
    await app?.stop();
  });

  it('refuses to delete attempts or truncate history outside the purge', async () => {
    await expect(sql`delete from delivery_attempts where true`).rejects.toThrow(/append-only/);
    await expect(sql`truncate delivery_attempts cascade`).rejects.toThrow(/append-only/);
    await expect(sql`truncate audit_entries`).rejects.toThrow(/append-only/);
    // A transaction claiming to be the purge may not reach younger rows than a day.
    await expect(
      sql.begin(async (tx) => {
        await tx`select set_config('hookgate.purge_before', ${new Date().toISOString()}, true)`;
        await tx`delete from delivery_attempts where true`;
      }),
    ).rejects.toThrow(/append-only/);
  });

  it('purges in small batches while ingest keeps answering and paging stays exact', async () => {
    const total = OLD + AGED + RECENT;
    const stopAt = { done: false };
    const latencies: number[] = [];
    const accepted: string[] = [];
    const ingest = (async () => {
      let index = 0;
      while (!stopAt.done) {
        const body = JSON.stringify({ id: `live-${index++}` });
        const started = performance.now();
        const answer = await postWebhook(app.ingressUrl, 'keep', body, { 'x-keep-sig': hexHmac(secret, body) });
        latencies.push(performance.now() - started);
        expect(answer.status).toBe(202);
        accepted.push(answer.body.eventId as string);
      }
    })();
    // Page through the events the purge must keep (RECENT + AGED) while it runs.
    const paging = (async () => {
      const seen = new Set<string>();
      let after: string | null = null;
      for (;;) {
        const page: { data?: { events: { edges: { node: { id: string; receivedAt: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } } } =
          await app.graphql(
            `query ($after: String) { events(first: 100, after: $after, filter: { provider: "keep", receivedBefore: "${new Date(Date.now() - 30 * 60_000).toISOString()}", receivedAfter: "${new Date(Date.now() - 34 * 86_400_000).toISOString()}" }) { edges { node { id receivedAt } } pageInfo { hasNextPage endCursor } } }`,
            { after },
          );
        expect(page.data, JSON.stringify(page).slice(0, 300)).toBeDefined();
        for (const edge of page.data!.events.edges) {
          expect(seen.has(edge.node.id)).toBe(false);
          seen.add(edge.node.id);
        }
        if (!page.data!.events.pageInfo.hasNextPage) return seen.size;
        after = page.data!.events.pageInfo.endCursor;
      }
    })();

    const started = performance.now();
    const report = await purgeExpired(db, settings);
    const purgeMs = performance.now() - started;
    const pagedCount = await paging;
    stopAt.done = true;
    await ingest;

    expect(report).toEqual({ bodies: AGED, events: OLD, deliveries: OLD, attempts: OLD });
    expect(pagedCount).toBe(AGED + RECENT);
    const [counts] = await sql<{ events: number; purged: number; attempts: number }[]>`
      select (select count(*)::int from events where provider = 'keep' and event_key like 'seed-%') as events,
             (select count(*)::int from events where body_purged_at is not null and octet_length(raw_body) = 0 and payload = 'null'::jsonb and headers = '{}'::jsonb) as purged,
             (select count(*)::int from delivery_attempts a join deliveries d on d.id = a.delivery_id join events e on e.id = d.event_id
               where e.event_key like 'seed-%') as attempts`;
    expect(counts).toEqual({ events: total - OLD, purged: AGED, attempts: 0 });
    // Ingest kept answering: no request waited on the purge for long.
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.floor(latencies.length * 0.99)] ?? 0;
    console.log(`retention: purged ${OLD} events and ${AGED} bodies in ${Math.round(purgeMs)} ms; ${latencies.length} webhooks meanwhile, p99 ${p99.toFixed(1)} ms, max ${latencies.at(-1)?.toFixed(1)} ms`);
    expect(accepted.length).toBeGreaterThan(0);
    expect(p99).toBeLessThan(1000);
    const [audit] = await sql<{ details: Record<string, number> }[]>`select details from audit_entries where action = 'retention.purged'`;
    expect(audit!.details).toMatchObject({ bodies: AGED, events: OLD, deliveries: OLD, attempts: OLD });
  }, 300_000);

  it('answers a typed GoneError when replaying an event whose body was purged', async () => {
    const [event] = await sql<{ id: string }[]>`select id from events where body_purged_at is not null limit 1`;
    const answer = await app.graphql<{ requestReplay: { __typename: string; resourceId?: string } }>(
      `mutation ($input: RequestReplayInput!) { requestReplay(input: $input) { __typename ... on GoneError { resourceId message } } }`,
      { input: { eventId: event!.id, requestedBy: 'ops', reason: 'after retention' } },
    );
    expect(answer.data?.requestReplay).toMatchObject({ __typename: 'GoneError', resourceId: event!.id });
  });

  it('leaves purged bodies out of a bulk replay: counted as nothing, never sent empty', async () => {
    const [purged] = await sql<{ event_key: string }[]>`select event_key from events where body_purged_at is not null limit 1`;
    const [kept] = await sql<{ event_key: string }[]>`select event_key from events where body_purged_at is null limit 1`;
    const preview = async (eventKeyPrefix: string) =>
      (
        await app.graphql<{ replayEvents: { __typename: string; events?: number } }>(
          `mutation ($input: ReplayEventsInput!) { replayEvents(input: $input) { __typename ... on ReplayPreview { events } } }`,
          { input: { filter: { eventKeyPrefix }, requestedBy: 'ops', reason: 'after retention', dryRun: true } },
        )
      ).data?.replayEvents;
    const held = async (prefix: string) =>
      (await sql<{ n: number }[]>`select count(*)::int as n from events where starts_with(event_key, ${prefix}) and body_purged_at is null`)[0]!.n;
    const all = async (prefix: string) => (await sql<{ n: number }[]>`select count(*)::int as n from events where starts_with(event_key, ${prefix})`)[0]!.n;
    for (const prefix of [purged!.event_key, kept!.event_key]) {
      expect(await preview(prefix)).toEqual({ __typename: 'ReplayPreview', events: await held(prefix) });
    }
    // The purged key's prefix really does match a purged event that the replay leaves out.
    expect(await all(purged!.event_key)).toBeGreaterThan(await held(purged!.event_key));
  });
});
