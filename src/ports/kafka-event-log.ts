import { Kafka, logLevel as KafkaLogLevel, Partitioners, type Consumer, type LogEntry, type Message, type Producer } from 'kafkajs';
import type { Logger } from '../log.js';
import type { BatchHandler, DeadLetter, EventLogConsumer, EventLogProducer, IngressRecord, LoggedRecord, PartitionLag, UndecodableMessage } from './event-log.js';
import { decodeIngressMessage, encodeIngressRecord } from './ingress-codec.js';
import { createMicroBatcher } from './micro-batcher.js';

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  topic: string;
  dlqTopic: string;
  consumerGroup: string;
  partitions: number;
}

/** kafkajs logs through the app logger (STYLE.md §9), data first. */
function kafkaLogCreator(log: Logger) {
  return () =>
    ({ level, log: entry }: LogEntry) => {
      const { message, ...fields } = entry;
      const data = { component: 'kafkajs', ...fields };
      if (level <= KafkaLogLevel.ERROR) log.error(data, message);
      else if (level === KafkaLogLevel.WARN) log.warn(data, message);
      else if (level === KafkaLogLevel.INFO) log.debug(data, message);
      else log.debug(data, message);
    };
}

export function createKafkaClient(settings: KafkaSettings, log: Logger): Kafka {
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    logLevel: KafkaLogLevel.INFO,
    logCreator: kafkaLogCreator(log),
    connectionTimeout: 3000,
    requestTimeout: 10000,
    retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 5 },
  });
}

/**
 * Creates the ingress and dead-letter topics when absent; existing topics are left as they are.
 * Right after a topic is created a busy broker may briefly deny knowing it ("does not host this
 * topic-partition") or two instances may race to create it: both are retried, bounded.
 */
export async function ensureTopics(kafka: Kafka, settings: KafkaSettings): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const wanted = [settings.topic, settings.dlqTopic];
    for (let attempt = 1; ; attempt++) {
      try {
        const existing = new Set(await admin.listTopics());
        const missing = wanted.filter((topic) => !existing.has(topic));
        if (missing.length > 0) {
          await admin.createTopics({
            waitForLeaders: true,
            topics: missing.map((topic) => ({ topic, numPartitions: settings.partitions })),
          });
        }
        await admin.fetchTopicMetadata({ topics: wanted });
        return;
      } catch (error) {
        if (attempt >= 10) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  } finally {
    await admin.disconnect();
  }
}

export interface ProducerSettings {
  /** Flush a shared send at this many messages… */
  batchMax: number;
  /** …or after this long, whichever comes first. */
  lingerMs: number;
  /** A request's own deadline for the broker's acknowledgement. */
  publishTimeoutMs: number;
  /** Messages waiting beyond which new ones are refused at once (broker down or slow). */
  maxPending: number;
}

export function createKafkaProducer(kafka: Kafka, settings: KafkaSettings, producerSettings: ProducerSettings): EventLogProducer {
  // Idempotent + acks=all: a retried send never duplicates, and an ack means every in-sync
  // replica has it. Retries are unlimited (limiting them voids the idempotence guarantee);
  // each caller still gets its answer by its own deadline from the batcher.
  // DefaultPartitioner is murmur2 like the Java client, so every Kafka client agrees on a key's partition.
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  const batcher = createMicroBatcher<Message>({
    send: async (messages) => {
      await producer.send({ topic: settings.topic, acks: -1, messages });
    },
    maxBatch: producerSettings.batchMax,
    lingerMs: producerSettings.lingerMs,
    maxPending: producerSettings.maxPending,
    timeoutMs: producerSettings.publishTimeoutMs,
  });
  const health = createKafkaHealthCheck(kafka);

  return {
    async start() {
      await ensureTopics(kafka, settings);
      await producer.connect();
    },
    publish: (record: IngressRecord) => batcher.push(encodeIngressRecord(record)),
    healthy: health.check,
    async stop() {
      await batcher.drain();
      await health.close();
      await producer.disconnect();
    },
  };
}

/** Asks the cluster for its metadata; the caller bounds how long it may take. */
export function createKafkaHealthCheck(kafka: Kafka) {
  const admin = kafka.admin({ retry: { retries: 0 } });
  let connected: Promise<void> | undefined;
  return {
    async check(): Promise<boolean> {
      connected ??= admin.connect().catch((error: unknown) => {
        connected = undefined;
        throw error;
      });
      await connected;
      const cluster = await admin.describeCluster();
      return cluster.brokers.length > 0;
    },
    async close(): Promise<void> {
      if (connected) await admin.disconnect();
    },
  };
}

export function createKafkaConsumer(
  kafka: Kafka,
  settings: KafkaSettings,
  log: Logger,
  options: { maxBytesPerPartition?: number } = {},
): EventLogConsumer {
  const consumer: Consumer = kafka.consumer({
    groupId: settings.consumerGroup,
    allowAutoTopicCreation: false,
    sessionTimeout: 30000,
    heartbeatInterval: 3000,
    // Bounds a batch: at 1 MiB per partition a batch holds a few hundred to a few thousand webhooks.
    maxBytesPerPartition: options.maxBytesPerPartition ?? 1024 * 1024,
    // Only bounds an idle fetch (data returns at once); short so shutdown does not wait long.
    maxWaitTimeInMs: 1000,
  });

  // Dead letters are rare: their producer connects on first use.
  const dlqProducer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  let dlqConnected: Promise<void> | undefined;

  return {
    async deadLetter(items: DeadLetter[]) {
      dlqConnected ??= dlqProducer.connect().catch((error: unknown) => {
        dlqConnected = undefined;
        throw error;
      });
      await dlqConnected;
      await dlqProducer.send({
        topic: settings.dlqTopic,
        acks: -1,
        messages: items.map((item) => ({
          key: item.key,
          value: item.value,
          headers: {
            ...item.headers,
            'hookgate-dlq-reason': item.reason,
            'hookgate-dlq-source': `${settings.topic}/${item.partition}/${item.offset}`,
          },
        })),
      });
    },
    async start(handler: BatchHandler) {
      await ensureTopics(kafka, settings);
      await consumer.connect();
      await consumer.subscribe({ topics: [settings.topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        // Batches of different partitions are stored side by side (each in its own transaction);
        // one partition's batches still go one after another, so per-key order holds.
        partitionsConsumedConcurrently: Math.min(4, settings.partitions),
        eachBatch: async ({ batch, heartbeat, resolveOffset, isRunning, isStale }) => {
          if (batch.messages.length === 0 || !isRunning() || isStale()) return;
          const records: LoggedRecord[] = [];
          const undecodable: UndecodableMessage[] = [];
          for (const message of batch.messages) {
            const decoded = decodeIngressMessage(message.value, message.headers);
            if (decoded.ok) records.push({ record: decoded.record, partition: batch.partition, offset: message.offset });
            else
              undecodable.push({
                partition: batch.partition,
                offset: message.offset,
                key: message.key,
                value: message.value,
                reason: decoded.reason,
              });
          }
          await handler({ records, undecodable, heartbeat });
          // Invariant: the position moves only after the handler's transaction has committed.
          const last = batch.messages[batch.messages.length - 1]!.offset;
          resolveOffset(last);
          await consumer.commitOffsets([
            { topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() },
          ]);
          log.debug({ partition: batch.partition, lastOffset: last, count: batch.messages.length }, 'batch committed');
        },
      });
    },
    async stop() {
      // kafkajs waits for the running batch to finish before leaving the group.
      await consumer.disconnect();
      if (dlqConnected) await dlqProducer.disconnect();
    },
  };
}

/** How far the persist consumer group trails the ingress topic, per partition. */
export function createKafkaLagReader(kafka: Kafka, settings: KafkaSettings) {
  const admin = kafka.admin({ retry: { retries: 1 } });
  let connected: Promise<void> | undefined;
  return {
    async lag(): Promise<PartitionLag[]> {
      connected ??= admin.connect().catch((error: unknown) => {
        connected = undefined;
        throw error;
      });
      await connected;
      const [ends, [committed]] = await Promise.all([
        admin.fetchTopicOffsets(settings.topic),
        admin.fetchOffsets({ groupId: settings.consumerGroup, topics: [settings.topic] }),
      ]);
      const committedByPartition = new Map((committed?.partitions ?? []).map((p) => [p.partition, p.offset]));
      return ends
        .map(({ partition, high, low }) => {
          const raw = committedByPartition.get(partition);
          const committedOffset = raw === undefined || raw === '-1' ? null : raw;
          const from = BigInt(committedOffset ?? low);
          const lag = BigInt(high) - from;
          return { partition, committedOffset, endOffset: high, lag: (lag < 0n ? 0n : lag).toString() };
        })
        .sort((a, b) => a.partition - b.partition);
    },
    async close() {
      if (connected) await admin.disconnect();
    },
  };
}
