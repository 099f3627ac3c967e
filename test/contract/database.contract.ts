import { eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimDueDeliveries, completeAttempts, releaseClaims, type AttemptRecord } from '../../src/consumers/delivery-store.js';
import { persistBatch } from '../../src/consumers/persist-batch.js';
import type { Database } from '../../src/db/client.js';
import { failureKindOf } from '../../src/db/failure-kind.js';
import { auditEntries, deliveries, deliveryAttempts, destinations, events, integrations } from '../../src/db/schema.js';
import { MAX_JSON_DEPTH } from '../../src/json/scan-json.js';
import { eventIdFor } from '../../src/ids.js';
import type { LoggedRecord } from '../../src/ports/event-log.js';

export interface DatabaseUnderTest {
  db: Database;
  cleanup(): Promise<void>;
}

/** What the rest of Hookgate relies on from its database, on Postgres and on PGlite alike. */
export function databaseContract(name: string, make: () => Promise<DatabaseUnderTest>): void {
  describe(`database contract: ${name}`, () => {
    let subject: DatabaseUnderTest;
    let db: Database;
    let integrationId = '';

    const record = (eventKey: string, body: string | Buffer = `{"id":"${eventKey}"}`, orderingKey: string | null = null): LoggedRecord => ({
      partition: 0,
      offset: '1',
      record: {
        eventId: eventIdFor(integrationId, eventKey),
        integrationId,
        provider: 'acme',
        eventKey,
        eventType: 'thing.happened',
        orderingKey,
        receivedAt: new Date(),
        sourceIp: '127.0.0.1',
        headers: { 'content-type': 'application/json' },
        rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body),
      },
    });

    const stored = async (eventKey: string) => {
      const [row] = await db.select({ rawBody: events.rawBody, payload: events.payload }).from(events).where(eq(events.eventKey, eventKey));
      return row;
    };

    beforeAll(async () => {
      subject = await make();
      db = subject.db;
      const [row] = await db.insert(integrations).values({ provider: 'acme', name: 'Acme', scheme: 'HMAC_SHA256', secret: 'contract-secret-0123456789' }).returning();
      integrationId = row!.id;
      await db.insert(destinations).values({ integrationId, url: 'https://example.com/hook', secret: 'whsec_x' });
    }, 120_000);
    afterAll(async () => {
      await subject?.cleanup();
    });

    it('stores a batch once, whatever is sent twice, with one pending delivery per destination', async () => {
      const first = await persistBatch(db, [record('k1'), record('k2'), record('k1')]);
      const again = await persistBatch(db, [record('k1'), record('k3')]);
      expect(first.inserted).toHaveLength(2);
      expect(again.inserted).toEqual([eventIdFor(integrationId, 'k3')]);
      expect(again.duplicates).toEqual([eventIdFor(integrationId, 'k1')]);
      const rows = await db.select({ id: deliveries.id }).from(deliveries);
      expect(rows).toHaveLength(3);
    });

    it('returns the raw body byte for byte, as a Buffer', async () => {
      const body = '{"id":"bytes",  "ünïcödé":"✓"}';
      await persistBatch(db, [record('bytes', body)]);
      const [row] = await db.select({ rawBody: events.rawBody }).from(events).where(eq(events.eventKey, 'bytes'));
      expect(Buffer.isBuffer(row!.rawBody)).toBe(true);
      expect(row!.rawBody.toString('utf8')).toBe(body);
    });

    it('hands each due delivery to one claimant only', async () => {
      const [a, b] = await Promise.all([claimDueDeliveries(db, 'worker-a', 10, 30_000), claimDueDeliveries(db, 'worker-b', 10, 30_000)]);
      const claimed = [...a, ...b].map((delivery) => delivery.id);
      expect(new Set(claimed).size).toBe(claimed.length);
      expect(claimed.length).toBe(4);
      expect(await claimDueDeliveries(db, 'worker-c', 10, 30_000)).toEqual([]);
    });

    it('refuses to change or delete audit entries and delivery attempts', async () => {
      // drizzle wraps driver errors; the database's own words are in the cause.
      const refusal = async (statement: ReturnType<typeof sql>) => {
        const error = await db.execute(statement).then(() => undefined, (caught: unknown) => caught as Error & { cause?: Error });
        return String(error?.cause?.message ?? error?.message ?? 'no error');
      };
      expect(await refusal(sql`update audit_entries set actor = 'someone'`)).toMatch(/append-only/);
      expect(await refusal(sql`delete from audit_entries`)).toMatch(/append-only/);
      const [delivery] = await db.select({ id: deliveries.id }).from(deliveries).limit(1);
      await db.insert(deliveryAttempts).values({ deliveryId: delivery!.id, attemptNumber: 1, startedAt: new Date(), durationMs: 5, statusCode: 200 });
      expect(await refusal(sql`update delivery_attempts set status_code = 500`)).toMatch(/append-only/);
      expect(await refusal(sql`delete from delivery_attempts`)).toMatch(/append-only/);
    });

    const attemptOf = (statusCode: number | null): AttemptRecord => ({
      startedAt: new Date(),
      durationMs: 3,
      statusCode,
      errorClass: statusCode === null ? 'DNS' : null,
      errorMessage: statusCode === null ? 'cannot resolve hooks.example.com' : null,
      responseBody: statusCode === null ? null : 'ok\u0000',
      requestHeaders: { 'webhook-id': 'x' },
    });
    const attemptNumbers = async (deliveryId: string) =>
      (await db.select({ n: deliveryAttempts.attemptNumber }).from(deliveryAttempts).where(eq(deliveryAttempts.deliveryId, deliveryId)))
        .map((row) => row.n)
        .sort();

    it('claims with the work in one statement; a late completion of an expired claim changes nothing, even by the same worker', async () => {
      await persistBatch(db, [record('fenced', '{"id":"fenced","x":1}')]);
      // A lease long enough that a loaded machine does not let it run out between two statements.
      const [first, ...others] = await claimDueDeliveries(db, 'worker-f', 10, 1_000);
      expect(others).toEqual([]);
      expect(first).toMatchObject({ attemptNumber: 1, previousStatus: 'PENDING', url: 'https://example.com/hook', secret: 'whsec_x', destinationEnabled: true });
      expect(first!.rawBody.toString()).toBe('{"id":"fenced","x":1}');
      // Leased: out of the due range until the lease ends.
      expect(await claimDueDeliveries(db, 'worker-f', 10, 1_000)).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      const [second] = await claimDueDeliveries(db, 'worker-f', 10, 30_000);
      expect(second).toMatchObject({ id: first!.id, attemptNumber: 2, previousStatus: 'IN_FLIGHT' });

      // The first claim's outcome arrives late: its POST is recorded, the delivery is not moved.
      const late = await completeAttempts(db, 'worker-f', [
        { deliveryId: first!.id, attemptNumber: 1, attempt: attemptOf(200), status: 'SUCCEEDED', retryInMs: null, lastError: null },
      ]);
      expect(late.size).toBe(0);
      const [still] = await db.select().from(deliveries).where(eq(deliveries.id, first!.id));
      expect(still).toMatchObject({ status: 'IN_FLIGHT', attemptCount: 2, leaseOwner: 'worker-f' });

      const current = await completeAttempts(db, 'worker-f', [
        { deliveryId: first!.id, attemptNumber: 2, attempt: attemptOf(null), status: 'RETRYING', retryInMs: 0, lastError: 'DNS' },
      ]);
      expect([...current]).toEqual([first!.id]);
      expect(await attemptNumbers(first!.id)).toEqual([1, 2]);
    });

    it('releases a claim that never started: due again at once with its old attempt number', async () => {
      const [claim] = await claimDueDeliveries(db, 'worker-r', 1, 30_000);
      expect(claim).toMatchObject({ attemptNumber: 3, previousStatus: 'RETRYING' });
      // A release with a stale attempt number is refused like a stale completion.
      expect((await releaseClaims(db, 'worker-r', [{ deliveryId: claim!.id, attemptNumber: 2 }])).size).toBe(0);
      expect([...(await releaseClaims(db, 'worker-r', [{ deliveryId: claim!.id, attemptNumber: 3 }]))]).toEqual([claim!.id]);
      const [row] = await db.select().from(deliveries).where(eq(deliveries.id, claim!.id));
      expect(row).toMatchObject({ status: 'RETRYING', attemptCount: 2, leaseOwner: null });
      const [again] = await claimDueDeliveries(db, 'worker-s', 1, 30_000);
      expect(again).toMatchObject({ id: claim!.id, attemptNumber: 3 });
      await completeAttempts(db, 'worker-s', [{ deliveryId: again!.id, attemptNumber: 3, attempt: attemptOf(200), status: 'SUCCEEDED', retryInMs: null, lastError: null }]);
      expect(await attemptNumbers(claim!.id)).toEqual([1, 2, 3]);
    });

    it('records a group of attempts and their moves in one call', async () => {
      await persistBatch(db, [record('group-1'), record('group-2'), record('group-3')]);
      const claims = await claimDueDeliveries(db, 'worker-g', 10, 30_000);
      expect(claims).toHaveLength(3);
      const [a, b, c] = claims;
      const held = await completeAttempts(db, 'worker-g', [
        { deliveryId: a!.id, attemptNumber: 1, attempt: attemptOf(200), status: 'SUCCEEDED', retryInMs: null, lastError: null },
        { deliveryId: b!.id, attemptNumber: 1, attempt: attemptOf(503), status: 'RETRYING', retryInMs: 60_000, lastError: 'HTTP 503' },
        { deliveryId: c!.id, attemptNumber: 1, attempt: null, status: 'CANCELLED', retryInMs: null, lastError: 'destination disabled' },
      ]);
      expect(held.size).toBe(3);
      const rows = await db.select().from(deliveries).where(inArray(deliveries.id, claims.map((claim) => claim.id)));
      const byId = new Map(rows.map((row) => [row.id, row]));
      expect(byId.get(a!.id)).toMatchObject({ status: 'SUCCEEDED', lastStatusCode: 200, leaseOwner: null });
      expect(byId.get(a!.id)!.completedAt).not.toBeNull();
      expect(byId.get(b!.id)).toMatchObject({ status: 'RETRYING', lastStatusCode: 503, lastError: 'HTTP 503', completedAt: null });
      expect(byId.get(b!.id)!.nextAttemptAt.getTime()).toBeGreaterThan(Date.now() + 50_000);
      expect(byId.get(c!.id)).toMatchObject({ status: 'CANCELLED', lastError: 'destination disabled' });
      expect(await attemptNumbers(a!.id)).toEqual([1]);
      expect(await attemptNumbers(c!.id)).toEqual([]);
      const [body] = await db.select({ body: deliveryAttempts.responseBody }).from(deliveryAttempts).where(eq(deliveryAttempts.deliveryId, a!.id));
      expect(body!.body).toBe('ok\uFFFD');
    });

    // STYLE.md §12: valid JSON that jsonb refuses is still a webhook; the raw body is the record.
    const hostile: [string, string | Buffer, 'payload' | 'no payload'][] = [
      ['nul-value', '{"id":"nul-value","note":"a\\u0000b"}', 'no payload'],
      ['nul-key', '{"id":"nul-key","a\\u0000b":1}', 'no payload'],
      ['lone-high', '{"id":"lone-high","s":"\\ud800"}', 'no payload'],
      ['lone-low', '{"id":"lone-low","s":"x\\udc00y"}', 'no payload'],
      ['pair', '{"id":"pair","s":"\\ud83d\\ude00"}', 'payload'],
      ['escaped-backslash-u', '{"id":"escaped-backslash-u","s":"\\\\u0000"}', 'payload'],
      ['at-depth-limit', `{"id":"at-depth-limit","d":${'['.repeat(MAX_JSON_DEPTH - 1)}${']'.repeat(MAX_JSON_DEPTH - 1)}}`, 'payload'],
      ['huge-string', `{"id":"huge-string","s":"${'x'.repeat(1024 * 1024)}"}`, 'payload'],
      ['huge-number', `{"id":"huge-number","n":${'9'.repeat(5000)}.${'1'.repeat(5000)}}`, 'payload'],
      ['duplicate-keys', '{"id":"duplicate-keys","a":1,"a":2}', 'payload'],
      ['non-ascii-keys', '{"id":"non-ascii-keys","ключ":"値","🔑":"✓"}', 'payload'],
      ['not-utf8', Buffer.concat([Buffer.from('{"id":"not-utf8","s":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), 'no payload'],
    ];

    it('stores hostile-but-valid bodies byte for byte, with a payload exactly when jsonb can hold it', async () => {
      const result = await persistBatch(db, hostile.map(([key, body]) => record(key, body)));
      expect(result.inserted).toHaveLength(hostile.length);
      for (const [key, body, expected] of hostile) {
        const row = await stored(key);
        expect(row!.rawBody.equals(Buffer.isBuffer(body) ? body : Buffer.from(body)), key).toBe(true);
        expect(row!.payload === null ? 'no payload' : 'payload', key).toBe(expected);
      }
      const [dup] = await db.select({ payload: events.payload }).from(events).where(eq(events.eventKey, 'duplicate-keys'));
      expect(dup!.payload).toEqual({ id: 'duplicate-keys', a: 2 });
    });

    it('refuses a number beyond jsonb with a data error, and stores the record without payload', async () => {
      const body = `{"id":"beyond-numeric","n":1e1000000}`;
      const error = await persistBatch(db, [record('beyond-numeric', body)]).then(() => undefined, (caught: unknown) => caught);
      expect(failureKindOf(error)).toBe('data');
      const again = await persistBatch(db, [record('beyond-numeric', body)], { withoutPayload: true });
      expect(again.inserted).toHaveLength(1);
      expect((await stored('beyond-numeric'))!.rawBody.toString()).toBe(body);
    });

    it('refuses a record whose key holds a NUL as a data error, storing none of its batch', async () => {
      const error = await persistBatch(db, [record('fine-neighbour'), record('nul\u0000key')]).then(() => undefined, (caught: unknown) => caught);
      expect(failureKindOf(error)).toBe('data');
      expect(await stored('fine-neighbour')).toBeUndefined();
    });

    it('writes one event.received entry per new event and orders deliveries as the batch', async () => {
      const [ordered] = await db.insert(destinations).values({ integrationId, url: 'https://example.com/ordered', secret: 'whsec_y', ordered: true }).returning();
      const batch = [record('o1', undefined, 'order-7'), record('o2'), record('o3', undefined, 'order-7')];
      await persistBatch(db, batch);
      await persistBatch(db, batch);
      const rows = await db
        .select({ eventId: deliveries.eventId, orderingKey: deliveries.orderingKey })
        .from(deliveries)
        .where(eq(deliveries.destinationId, ordered!.id))
        .orderBy(deliveries.sequence);
      expect(rows).toEqual([
        { eventId: eventIdFor(integrationId, 'o1'), orderingKey: 'order-7' },
        { eventId: eventIdFor(integrationId, 'o2'), orderingKey: 'o2' },
        { eventId: eventIdFor(integrationId, 'o3'), orderingKey: 'order-7' },
      ]);
      const audits = await db
        .select({ targetId: auditEntries.targetId, details: auditEntries.details })
        .from(auditEntries)
        .where(eq(auditEntries.action, 'event.received'));
      for (const item of batch) expect(audits.filter((a) => a.targetId === item.record.eventId)).toHaveLength(1);
      await db.update(destinations).set({ enabled: false }).where(eq(destinations.id, ordered!.id));
    });
  });
}
