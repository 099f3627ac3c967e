import { Kafka, logLevel as KafkaLogLevel, Partitioners, type Consumer, type LogEntry, type Producer } from 'kafkajs';
import type { Logger } from '../log.js';
import type { BatchHandler, EventLogConsumer, EventLogProducer, IngressRecord, LoggedRecord, UndecodableMessage } from './event-log.js';
import { decodeIngressMessage, encodeIngressRecord } from './ingress-codec.js';

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

/** Creates the ingress and dead-letter topics when absent; existing topics are left as they are. */
export async function ensureTopics(kafka: Kafka, settings: KafkaSettings): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [settings.topic, settings.dlqTopic].filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({ topic, numPartitions: settings.partitions })),
      });
    }
  } finally {
    await admin.disconnect();
  }
}

export function createKafkaProducer(
  kafka: Kafka,
  settings: KafkaSettings,
  options: { publishTimeoutMs?: number } = {},
): EventLogProducer {
  // Idempotent + acks=all: a retried send never duplicates, and an ack means every in-sync replica has it.
  // DefaultPartitioner is murmur2 like the Java client, so every Kafka client agrees on a key's partition.
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const publishTimeoutMs = options.publishTimeoutMs ?? 5000;
  let connected = false;
  producer.on(producer.events.CONNECT, () => {
    connected = true;
  });
  producer.on(producer.events.DISCONNECT, () => {
    connected = false;
  });

  return {
    async start() {
      await ensureTopics(kafka, settings);
      await producer.connect();
    },
    async publish(record: IngressRecord) {
      const message = encodeIngressRecord(record);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no broker acknowledgement within ${publishTimeoutMs} ms`)), publishTimeoutMs);
      });
      try {
        await Promise.race([producer.send({ topic: settings.topic, acks: -1, messages: [message] }), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async healthy() {
      return connected;
    },
    async stop() {
      await producer.disconnect();
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

  return {
    async start(handler: BatchHandler) {
      await ensureTopics(kafka, settings);
      await consumer.connect();
      await consumer.subscribe({ topics: [settings.topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
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
    },
  };
}
