import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimDueDeliveries } from '../../src/consumers/delivery-store.js';
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
