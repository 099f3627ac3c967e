import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import type { EventLogBatch, LoggedRecord } from '../../src/ports/event-log.js';
import { createKafkaClient, createKafkaConsumer, createKafkaProducer, type KafkaSettings } from '../../src/ports/kafka-event-log.js';
import { createMemoryEventLog } from '../../src/ports/memory-event-log.js';
import { BacklogFullError, SendTimeoutError } from '../../src/ports/micro-batcher.js';
import { eventLogContract, ingressRecord } from '../contract/event-log.contract.js';
import { eventually } from '../helpers/eventually.js';
import { describeWithServices, services } from '../helpers/services.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

eventLogContract(
  'in memory',
  async () => {
    // A small batch size, so that the suite's record counts span several batches.
    const log = createMemoryEventLog({ partitions: 3, maxBatch: 16, retryDelayMs: () => 20 });
    return {
      producer: log.producer,
      consumer: log.consumer,
      async cleanup() {
        await log.consumer.stop();
        await log.producer.stop();
      },
    };
  },
  { partitions: 3, acknowledges: 'after-commit', deliveryTimeoutMs: 5_000 },
);

describeWithServices('event log on Kafka', ['kafka'], () => {
  eventLogContract(
    'Kafka',
    async () => {
      const run = randomBytes(4).toString('hex');
      const settings: KafkaSettings = {
        brokers: services.kafkaBrokers!.split(',').map((broker) => broker.trim()),
        clientId: `hookgate-contract-${run}`,
        topic: `hookgate.contract.${run}.ingress`,
        dlqTopic: `hookgate.contract.${run}.dlq`,
        consumerGroup: `hookgate-contract-${run}`,
        partitions: 3,
      };
      const kafka = createKafkaClient(settings, silentLogger);
      const producer = createKafkaProducer(kafka, settings, { batchMax: 100, lingerMs: 2, publishTimeoutMs: 10_000, maxPending: 10_000 });
      const consumer = createKafkaConsumer(kafka, settings, silentLogger);
      return {
        producer,
        consumer,
        async cleanup() {
          await consumer.stop();
          await producer.stop();
          const admin = kafka.admin();
          await admin.connect();
          try {
            await admin.deleteTopics({ topics: [settings.topic, settings.dlqTopic] }).catch(() => {});
          } finally {
            await admin.disconnect();
          }
        },
      };
    },
    { partitions: 3, acknowledges: 'on-append', deliveryTimeoutMs: 30_000 },
  );
});

describe('in-memory event log, beyond the contract', () => {
  it('tells a publisher to retry when no consumer commits in time, and still delivers the record later', async () => {
    const log = createMemoryEventLog({ partitions: 2, publishTimeoutMs: 100 });
    const record = ingressRecord();
    await expect(log.producer.publish(record)).rejects.toBeInstanceOf(SendTimeoutError);
    expect(log.lag().reduce((sum, partition) => sum + Number(partition.lag), 0)).toBe(1);
    const seen: LoggedRecord[] = [];
    await log.consumer.start(async (batch) => {
      seen.push(...batch.records);
    });
    await eventually(() => (seen.length === 1 ? true : undefined), 2000);
    expect(seen[0]!.record.eventId).toBe(record.eventId);
    await sleep(50);
    expect(seen).toHaveLength(1);
    expect(log.lag().every((partition) => partition.lag === '0')).toBe(true);
    await log.consumer.stop();
    await log.producer.stop();
  });

  it('refuses new records at once while too many wait uncommitted', async () => {
    const log = createMemoryEventLog({ partitions: 1, maxPending: 2, publishTimeoutMs: 100 });
    const waiting = [log.producer.publish(ingressRecord()), log.producer.publish(ingressRecord())];
    await expect(log.producer.publish(ingressRecord())).rejects.toBeInstanceOf(BacklogFullError);
    await Promise.allSettled(waiting);
  });

  it('hands over consecutive records of one partition, at most maxBatch at a time', async () => {
    const log = createMemoryEventLog({ partitions: 1, maxBatch: 7 });
    const batches: EventLogBatch[] = [];
    const publishes = Array.from({ length: 30 }, () => log.producer.publish(ingressRecord()));
    await log.consumer.start(async (batch) => {
      batches.push(batch);
    });
    await Promise.all(publishes);
    expect(batches.map((batch) => batch.records.length)).toEqual([7, 7, 7, 7, 2]);
    const offsets = batches.flatMap((batch) => batch.records.map((item) => Number(item.offset)));
    expect(offsets).toEqual(Array.from({ length: 30 }, (_, i) => i));
    await log.consumer.stop();
  });

  it('waits for the batch in flight when stopping, and keeps what was not committed for the next start', async () => {
    const log = createMemoryEventLog({ partitions: 1, maxBatch: 1 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = ingressRecord();
    const second = ingressRecord();
    const publishedFirst = log.producer.publish(first);
    const publishedSecond = log.producer.publish(second);
    const handled: string[] = [];
    await log.consumer.start(async (batch) => {
      await held;
      handled.push(...batch.records.map((item) => item.record.eventId));
    });
    await sleep(20);
    let stopped = false;
    const stopping = log.consumer.stop().then(() => (stopped = true));
    await sleep(50);
    expect(stopped).toBe(false);
    release();
    await stopping;
    await publishedFirst;
    expect(handled).toEqual([first.eventId]);

    await log.consumer.start(async (batch) => {
      handled.push(...batch.records.map((item) => item.record.eventId));
    });
    await publishedSecond;
    expect(handled).toEqual([first.eventId, second.eventId]);
    await log.consumer.stop();
  });

  it('lets the producer stop only after every publisher has its answer, and refuses publishing afterwards', async () => {
    const log = createMemoryEventLog({ partitions: 1 });
    const published = log.producer.publish(ingressRecord());
    let stopped = false;
    const stopping = log.producer.stop().then(() => (stopped = true));
    await sleep(20);
    expect(stopped).toBe(false);
    await log.consumer.start(async () => {});
    await published;
    await stopping;
    await expect(log.producer.publish(ingressRecord())).rejects.toThrow(/stopped/);
    expect(await log.producer.healthy()).toBe(false);
    await log.consumer.stop();
  });

  it('keeps dead letters for inspection', async () => {
    const log = createMemoryEventLog({ partitions: 1 });
    const item = { partition: 0, offset: '3', key: null, value: Buffer.from('junk'), reason: 'unknown format null' };
    await log.consumer.deadLetter([item]);
    expect(log.deadLetters()).toEqual([item]);
  });
});
