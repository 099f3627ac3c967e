import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createPersistConsumer } from '../../src/consumers/persist-consumer.js';
import { openDatabase } from '../../src/db/client.js';
import { auditEntries, destinations, events, integrations } from '../../src/db/schema.js';
import { eventIdFor } from '../../src/ids.js';
import { createLogger } from '../../src/log.js';
import type { IngressRecord } from '../../src/ports/event-log.js';
import { decodeIngressMessage, encodeIngressRecord } from '../../src/ports/ingress-codec.js';
import { createKafkaClient, ensureTopics } from '../../src/ports/kafka-event-log.js';
import { createMemoryCoordination } from '../../src/ports/memory-coordination.js';
import { createMemoryEventLog } from '../../src/ports/memory-event-log.js';
import { eventually } from '../helpers/eventually.js';
import { createTestDatabase } from '../helpers/database.js';
import { describeWithServices, services } from '../helpers/services.js';
import { eq } from 'drizzle-orm';

const BATCH = 500;
const BAD_INDEX = 250;

/** 500 records of one partition; the one in the middle has a NUL in its event key, which a text column refuses (SQLSTATE 22021). */
function batchWithOneRefused(integrationId: string, run: string): IngressRecord[] {
  return Array.from({ length: BATCH }, (_, index) => {
    const eventKey = index === BAD_INDEX ? `refused-\u0000-${run}` : `evt-${run}-${index}`;
    return {
      eventId: eventIdFor(integrationId, eventKey),
      integrationId,
      provider: 'acme',
      eventKey,
      eventType: 'thing.happened',
      // One ordering key: one Kafka key, one partition, one batch.
      orderingKey: `order-${run}`,
      receivedAt: new Date(),
      sourceIp: '127.0.0.1',
      headers: { 'content-type': 'application/json' },
      rawBody: Buffer.from(JSON.stringify({ id: eventKey, index, secretish: `BODY-${run}` })),
    };
  });
}

describeWithServices('a refused record in a 500-record batch, on Kafka and Postgres', ['kafka', 'postgres', 'redis'], () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });

  it('stores 499, dead-letters 1 with an audit entry naming the position, and commits past it', async () => {
    const run = randomBytes(4).toString('hex');
    const database = await createTestDatabase(services.testDatabaseUrl!);
    cleanups.push(() => database.drop());
    const sql = postgres(database.url, { max: 2 });
    cleanups.push(() => sql.end());
    const [integration] = await sql<{ id: string }[]>`
      insert into integrations (provider, name, scheme, secret) values ('acme', 'Acme', 'HMAC_SHA256', 'acme-secret-0123456789') returning id`;
    await sql`insert into destinations (integration_id, url, secret) values (${integration!.id}, 'http://127.0.0.1:9/never', 'whsec_x')`;
    const records = batchWithOneRefused(integration!.id, run);

    const settings = {
      brokers: services.kafkaBrokers!.split(','),
      clientId: `isolation-${run}`,
      topic: `hookgate.test.${run}.ingress`,
      dlqTopic: `hookgate.test.${run}.dlq`,
      consumerGroup: `hookgate-test-${run}`,
      partitions: 1,
    };
    const kafka = new Kafka({ brokers: settings.brokers, logLevel: logLevel.NOTHING });
    await ensureTopics(createKafkaClient(settings, createLogger({ level: 'silent' })), settings);
    // Pre-filled before the consumer starts, so that its first fetch holds the whole batch.
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: settings.topic,
      messages: records.map((record) => {
        const wire = encodeIngressRecord(record);
        return { key: wire.key, value: wire.value, headers: wire.headers };
      }),
    });
    await producer.disconnect();

    const lines: string[] = [];
    const config = loadConfig({
      NODE_ENV: 'test',
      HOOKGATE_ROLE: 'persist',
      INGRESS_PORT: '0',
      MANAGEMENT_PORT: '0',
      METRICS_PORT: '0',
      MANAGEMENT_API_KEY: 'test-management-key-0123456789',
      DATABASE_URL: database.url,
      REDIS_URL: services.redisUrl!,
      REDIS_KEY_PREFIX: `hookgate-test:${run}:`,
      KAFKA_BROKERS: services.kafkaBrokers!,
      KAFKA_TOPIC: settings.topic,
      KAFKA_DLQ_TOPIC: settings.dlqTopic,
      KAFKA_CONSUMER_GROUP: settings.consumerGroup,
      KAFKA_TOPIC_PARTITIONS: '1',
    });
    const app = await startApp(config, createLogger({ level: 'debug', write: (line) => void lines.push(line) }));
    cleanups.push(() => app.stop());

    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await eventually(async () => {
      const [offsets] = await admin.fetchOffsets({ groupId: settings.consumerGroup, topics: [settings.topic] });
      return offsets?.partitions[0]?.offset === String(BATCH) ? true : undefined;
    }, 60_000, 200);

    const [counts] = await sql<{ events: number; received: number; deliveries: number }[]>`
      select (select count(*)::int from events) as events,
             (select count(*)::int from audit_entries where action = 'event.received') as received,
             (select count(*)::int from deliveries) as deliveries`;
    expect(counts).toEqual({ events: BATCH - 1, received: BATCH - 1, deliveries: BATCH - 1 });
    const refused = records[BAD_INDEX]!;
    expect(await sql`select 1 from events where id = ${refused.eventId}`).toHaveLength(0);

    const audits = await sql<{ target_id: string; details: Record<string, unknown> }[]>`
      select target_id, details from audit_entries where action = 'event.dead_lettered'`;
    expect(audits).toHaveLength(1);
    expect(audits[0]!.target_id).toBe(`0:${BAD_INDEX}`);
    expect(audits[0]!.details).toMatchObject({ partition: 0, offset: String(BAD_INDEX), eventId: refused.eventId });
    expect(String(audits[0]!.details.reason)).toMatch(/SQLSTATE 22/);
    expect(JSON.stringify(audits[0]!.details)).not.toContain(`BODY-${run}`);

    const consumer = kafka.consumer({ groupId: `dlq-inspect-${run}` });
    await consumer.connect();
    cleanups.push(() => consumer.disconnect());
    await consumer.subscribe({ topic: settings.dlqTopic, fromBeginning: true });
    const letters: { value: string; headers: Record<string, string> }[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]));
        letters.push({ value: message.value?.toString() ?? '', headers });
      },
    });
    await eventually(() => (letters.length >= 1 ? true : undefined), 20_000);
    expect(letters).toHaveLength(1);
    expect(letters[0]!.value).toBe(refused.rawBody.toString());
    // The dead letter keeps the record's metadata header, so it can be decoded and sent again.
    const decoded = decodeIngressMessage(Buffer.from(letters[0]!.value), letters[0]!.headers);
    expect(decoded.ok && decoded.record.eventId).toBe(refused.eventId);
    expect(letters[0]!.headers['hookgate-dlq-source']).toBe(`${settings.topic}/0/${BAD_INDEX}`);

    expect(lines.filter((line) => line.includes(`BODY-${run}`))).toEqual([]);
    expect(lines.filter((line) => line.includes('"level":"error"'))).toEqual([]);
  }, 120_000);
});

describe('a refused record in a 500-record batch, on the embedded backends', () => {
  it('stores 499, dead-letters 1 with an audit entry, and acknowledges every publisher', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'hookgate-isolation-'));
    const handle = await openDatabase({ dataDir });
    try {
      const [integration] = await handle.db.insert(integrations).values({ provider: 'acme', name: 'Acme', scheme: 'HMAC_SHA256', secret: 'acme-secret-0123456789' }).returning();
      await handle.db.insert(destinations).values({ integrationId: integration!.id, url: 'http://127.0.0.1:9/never', secret: 'whsec_x' });
      const records = batchWithOneRefused(integration!.id, 'embedded');
      const lines: string[] = [];
      const log = createLogger({ level: 'debug', write: (line) => void lines.push(line) });
      const eventLog = createMemoryEventLog({ partitions: 1, maxBatch: BATCH, publishTimeoutMs: 60_000, log });
      // Published before the consumer starts: its first batch is all 500.
      const published = Promise.allSettled(records.map((record) => eventLog.producer.publish(record)));
      const coordination = createMemoryCoordination();
      const consumer = createPersistConsumer({
        consumer: eventLog.consumer,
        db: handle.db,
        coordination,
        status: { wakeDeliveryWorkers: async () => {}, eventsReceived: async () => {} },
        log,
      });
      await consumer.start();
      const outcomes = await published;
      await consumer.stop();
      await coordination.close();

      expect(outcomes.filter((outcome) => outcome.status !== 'fulfilled')).toEqual([]);
      expect(await handle.db.select({ id: events.id }).from(events)).toHaveLength(BATCH - 1);
      const dead = await handle.db.select().from(auditEntries).where(eq(auditEntries.action, 'event.dead_lettered'));
      expect(dead).toHaveLength(1);
      expect(dead[0]!.details).toMatchObject({ partition: 0, offset: String(BAD_INDEX), eventId: records[BAD_INDEX]!.eventId });
      expect(eventLog.deadLetters().map((letter) => letter.offset)).toEqual([String(BAD_INDEX)]);
      expect(eventLog.lag()[0]!.lag).toBe('0');
      expect(lines.filter((line) => line.includes('BODY-embedded'))).toEqual([]);
    } finally {
      await handle.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
