import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimDueDeliveries } from '../../src/consumers/delivery-store.js';
import { persistBatch } from '../../src/consumers/persist-batch.js';
import type { Database } from '../../src/db/client.js';
import { deliveries, deliveryAttempts, destinations, events, integrations } from '../../src/db/schema.js';
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

    const record = (eventKey: string, body = `{"id":"${eventKey}"}`): LoggedRecord => ({
      partition: 0,
      offset: '1',
      record: {
        eventId: eventIdFor(integrationId, eventKey),
        integrationId,
        provider: 'acme',
        eventKey,
        eventType: 'thing.happened',
        orderingKey: null,
        receivedAt: new Date(),
        sourceIp: '127.0.0.1',
        headers: { 'content-type': 'application/json' },
        rawBody: Buffer.from(body),
      },
    });

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
  });
}
