import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import type { LoggedRecord } from '../../src/ports/event-log.js';
import { createKafkaClient, createKafkaConsumer, createKafkaProducer, type KafkaSettings } from '../../src/ports/kafka-event-log.js';
import { ingressRecord } from '../contract/event-log.contract.js';
import { eventually } from '../helpers/eventually.js';
import { describeWithServices, services } from '../helpers/services.js';

/**
 * The body limit (1 MiB by default) equals Kafka's default record-batch limit: without the topic
 * setting and the byte cap on a shared send, a webhook at the limit, or several large ones sent
 * together to one partition, were refused by the broker and answered 503 on every retry.
 */
describeWithServices('Kafka records as large as the ingress accepts', ['kafka'], () => {
  /** A client for a topic of its own (one partition), named for this run. */
  const freshTopic = () => {
    const run = randomBytes(4).toString('hex');
    const settings: KafkaSettings = {
      brokers: services.kafkaBrokers!.split(','),
      clientId: `hookgate-large-${run}`,
      topic: `hookgate.large.${run}.ingress`,
      dlqTopic: `hookgate.large.${run}.dlq`,
      consumerGroup: `hookgate-large-${run}`,
      partitions: 1,
    };
    return { run, settings, kafka: createKafkaClient(settings, silentLogger) };
  };
  const producerSettings = { batchMax: 1_000, lingerMs: 5, publishTimeoutMs: 30_000, maxPending: 2_000 };
  const deleteTopics = async (kafka: ReturnType<typeof createKafkaClient>, settings: KafkaSettings) => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [settings.topic, settings.dlqTopic] }).catch(() => {});
    await admin.disconnect();
  };

  it('publishes and reads back webhooks of 1 MiB each, many at once on one partition, byte for byte', async () => {
    const { settings, kafka } = freshTopic();
    const producer = createKafkaProducer(kafka, settings, producerSettings);
    const consumer = createKafkaConsumer(kafka, settings, silentLogger);
    try {
      await producer.start();
      const records = Array.from({ length: 8 }, (_, index) =>
        ingressRecord({ rawBody: Buffer.from(JSON.stringify({ id: index, pad: randomBytes(512 * 1024).toString('hex') })) }),
      );
      expect(records[0]!.rawBody.length).toBeGreaterThanOrEqual(1024 * 1024);
      await Promise.all(records.map((record) => producer.publish(record)));

      const seen = new Map<string, LoggedRecord>();
      await consumer.start(async (batch) => {
        for (const item of batch.records) seen.set(item.record.eventId, item);
      });
      await eventually(async () => (seen.size === records.length ? true : undefined), 30_000, 200);
      for (const record of records) expect(seen.get(record.eventId)!.record.rawBody.equals(record.rawBody)).toBe(true);
    } finally {
      await consumer.stop();
      await producer.stop();
      await deleteTopics(kafka, settings);
    }
  }, 90_000);

  // Review found it: a send was cut by body bytes alone, so 8 KiB replays of one event, each with
  // 16 KB of kept request headers (latin1, twice that in UTF-8), filled one send with about 15 MB
  // and the broker refused it (MESSAGE_TOO_LARGE): every webhook in it answered 503.
  it('cuts a shared send by whole records, so small bodies with large kept headers are not refused', async () => {
    const { run, settings, kafka } = freshTopic();
    const producer = createKafkaProducer(kafka, settings, producerSettings);
    try {
      await producer.start();
      const headers = { 'content-type': 'application/json', 'x-junk': '\u00ff'.repeat(15_800) };
      const rawBody = Buffer.from(JSON.stringify({ id: `replayed-${run}`, pad: 'x'.repeat(8_000) }));
      const records = Array.from({ length: 600 }, () => ingressRecord({ rawBody, headers, eventKey: `replayed-${run}` }));
      const outcomes = await Promise.allSettled(records.map((record) => producer.publish(record)));
      expect(outcomes.filter((outcome) => outcome.status === 'rejected').map((outcome) => String((outcome as PromiseRejectedResult).reason))).toEqual([]);
    } finally {
      await producer.stop();
      await deleteTopics(kafka, settings);
    }
  }, 90_000);

  it('sends in halves to a topic whose max.message.bytes is below a shared send, and warns', async () => {
    const { settings, kafka } = freshTopic();
    const admin = kafka.admin();
    await admin.connect();
    // Created by hand, as an operator might, with a limit far below the 4 MiB a shared send may carry.
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: settings.topic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: String(256 * 1024) }] }],
    });
    await admin.disconnect();
    const warnings: string[] = [];
    const log = { ...silentLogger, warn: (_fields: unknown, message?: string) => void warnings.push(String(message)) } as typeof silentLogger;
    const producer = createKafkaProducer(kafka, settings, producerSettings, log);
    const consumer = createKafkaConsumer(kafka, settings, silentLogger);
    try {
      await producer.start();
      const records = Array.from({ length: 40 }, (_, index) =>
        ingressRecord({ rawBody: Buffer.from(JSON.stringify({ id: index, pad: randomBytes(20 * 1024).toString('hex') })) }),
      );
      const tooLargeAlone = ingressRecord({ rawBody: Buffer.from(JSON.stringify({ id: 'alone', pad: 'x'.repeat(300 * 1024) })) });
      const outcomes = await Promise.allSettled([...records, tooLargeAlone].map((record) => producer.publish(record)));
      expect(outcomes.slice(0, records.length).filter((outcome) => outcome.status === 'rejected')).toEqual([]);
      expect(String((outcomes[records.length] as PromiseRejectedResult).reason)).toMatch(/larger than the max message size/);
      expect(warnings.filter((line) => line.includes('sending it in halves'))).toHaveLength(1);

      // Every record arrives once, in the order it was published (one partition).
      const seen: string[] = [];
      await consumer.start(async (batch) => {
        for (const item of batch.records) seen.push(item.record.eventId);
      });
      await eventually(async () => (seen.length >= records.length ? true : undefined), 30_000, 200);
      expect(seen).toEqual(records.map((record) => record.eventId));
    } finally {
      await consumer.stop();
      await producer.stop();
      await deleteTopics(kafka, settings);
    }
  }, 90_000);
});
