import { Redis } from 'ioredis';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { signers } from '../helpers/providers.js';
import { startReceiver } from '../helpers/receiver.js';
import { describeWithServices, services } from '../helpers/services.js';
import { postWebhook } from '../helpers/signing.js';

const DESTINATION_SECRET = `whsec_${Buffer.from('hookgate-persist-test-secret-0123456789').toString('base64')}`;

describeWithServices('persist consumer and wake-ups on the real services', ['kafka', 'postgres', 'redis'], () => {
  let app: TestApp;
  let sql: postgres.Sql;
  let kafka: Kafka;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const secret = `acme-secret-${crypto.randomUUID()}`;

  const send = async (payload: Record<string, unknown>) => {
    const body = JSON.stringify(payload);
    return postWebhook(app.ingressUrl, 'acme', body, await signers.HMAC_SHA256!(body, secret));
  };

  beforeAll(async () => {
    receiver = await startReceiver();
    // Polling every minute: anything delivered sooner came through the wake-up.
    app = await startTestApp({ DELIVERY_ALLOWED_HOSTS: '127.0.0.1', DELIVERY_POLL_INTERVAL_MS: '60000' });
    sql = postgres(app.database.url, { max: 2 });
    kafka = new Kafka({ brokers: services.kafkaBrokers!.split(','), logLevel: logLevel.NOTHING });
    const created = await app.graphql<{ createIntegration: { __typename: string } }>(
      `mutation ($input: CreateIntegrationInput!) { createIntegration(input: $input) { __typename } }`,
      {
        input: {
          provider: 'acme',
          name: 'Acme',
          verification: { scheme: 'HMAC_SHA256', secret, eventKeyPath: '$.id' },
          destinations: [{ url: `${receiver.url}/hooks`, secret: DESTINATION_SECRET }],
        },
      },
    );
    expect(created.data?.createIntegration.__typename).toBe('Integration');
  });

  afterAll(async () => {
    await sql?.end();
    await app?.stop();
    await receiver?.stop();
  });

  it('starts a new delivery through the wake-up, not the poll, and publishes each status change', async () => {
    const subscriber = new Redis(services.redisUrl!);
    const changes: { deliveryId: string; eventId: string; integrationId: string; previousStatus: string; status: string }[] = [];
    await subscriber.subscribe(`${app.config.redis.keyPrefix}delivery.status`);
    // A worker publishes one change, or a group of them as an array.
    subscriber.on('message', (_channel: string, message: string) => changes.push(...[JSON.parse(message) as (typeof changes)[number]].flat()));
    try {
      const response = await send({ id: 'wake-me' });
      expect(response.status).toBe(202);
      const eventId = response.body.eventId as string;
      await eventually(async () => (receiver.received.some((r) => r.headers['webhook-id'] === eventId) ? true : undefined), 5000, 20);
      await eventually(async () => (changes.some((c) => c.eventId === eventId && c.status === 'SUCCEEDED') ? true : undefined), 5000, 20);
      const forEvent = changes.filter((change) => change.eventId === eventId);
      expect(forEvent.map((change) => `${change.previousStatus}->${change.status}`)).toEqual(['PENDING->IN_FLIGHT', 'IN_FLIGHT->SUCCEEDED']);
      expect(forEvent[0]!.integrationId).toMatch(/^[0-9a-f-]{36}$/);
      expect(forEvent[0]!.deliveryId).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await subscriber.quit();
    }
  });

  it('dead-letters a message it can never store, audits it, and keeps its partition moving', async () => {
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    // Same key as a real event that follows, so both land on the same partition.
    const key = 'poison-key';
    await producer.send({ topic: app.config.kafka.topic, messages: [{ key, value: 'not a hookgate message', headers: { 'hookgate-format': '99' } }] });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `dlq-inspect-${crypto.randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: app.config.kafka.dlqTopic, fromBeginning: true });
    const deadLetter = new Promise<{ value: string; reason: string }>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          resolve({ value: message.value?.toString() ?? '', reason: message.headers?.['hookgate-dlq-reason']?.toString() ?? '' });
        },
      });
    });
    const letter = await Promise.race([deadLetter, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no dead letter')), 20_000))]);
    await consumer.disconnect();
    expect(letter.value).toBe('not a hookgate message');
    expect(letter.reason).toContain('unknown format');

    await eventually(async () => {
      const rows = await sql`select details from audit_entries where action = 'event.dead_lettered'`;
      return rows.length === 1 ? rows : undefined;
    });
    const after = await send({ id: 'after-poison' });
    await eventually(async () => {
      const rows = await sql`select 1 from events where id = ${after.body.eventId as string}`;
      return rows.length === 1 ? true : undefined;
    });
  });

  it('writes one event.received audit entry (its processing record) and one pending delivery per new event', async () => {
    const response = await send({ id: 'bookkeeping' });
    const eventId = response.body.eventId as string;
    await send({ id: 'bookkeeping' });
    await eventually(async () => {
      const rows = await sql`select 1 from deliveries where event_id = ${eventId} and status = 'SUCCEEDED'`;
      return rows.length === 1 ? true : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const [counts] = await sql<{ audits: number; deliveries: number }[]>`
      select (select count(*)::int from audit_entries where action = 'event.received' and target_id = ${eventId}) as audits,
             (select count(*)::int from deliveries where event_id = ${eventId}) as deliveries`;
    expect(counts).toEqual({ audits: 1, deliveries: 1 });
  });
});
