import { Kafka, logLevel, Partitioners, type Message } from 'kafkajs';
import { ensureTopics } from '../../src/ports/kafka-event-log.js';
import { encodeIngressRecord } from '../../src/ports/ingress-codec.js';
import type { IngressRecord } from '../../src/ports/event-log.js';

/** Filling a fresh topic the way the ingress role would have, and removing the consumer group afterwards. */

function benchKafka(brokers: string[]): Kafka {
  return new Kafka({
    clientId: 'hookgate-bench',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    retry: { retries: 2 },
  });
}

/** Messages per produce request, and requests in flight: big enough that the fill is quick, small enough for the broker's 1 MB limit per partition batch. */
const CHUNK = 1_000;
const IN_FLIGHT = 4;

/**
 * Creates `topic` (and its dead-letter twin) with `partitions` partitions, then produces webhooks
 * 0…count-1 with the ingress codec, keyed as the ingress keys them. Returns how long producing took.
 */
export async function prefillTopic(options: {
  brokers: string[];
  topic: string;
  dlqTopic: string;
  partitions: number;
  count: number;
  record: (index: number) => IngressRecord;
  signal: AbortSignal;
  progress: (line: string) => void;
}): Promise<{ seconds: number; bytes: number }> {
  const kafka = benchKafka(options.brokers);
  await ensureTopics(kafka, {
    brokers: options.brokers,
    clientId: 'hookgate-bench',
    topic: options.topic,
    dlqTopic: options.dlqTopic,
    consumerGroup: 'unused',
    partitions: options.partitions,
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const started = performance.now();
  let bytes = 0;
  let next = 0;
  let reported = 0;
  try {
    const sendChunks = async () => {
      while (next < options.count) {
        options.signal.throwIfAborted();
        const from = next;
        next = Math.min(options.count, next + CHUNK);
        const messages: Message[] = [];
        for (let index = from; index < next; index++) {
          const message = encodeIngressRecord(options.record(index));
          bytes += message.value.length;
          messages.push(message);
        }
        await producer.send({ topic: options.topic, acks: -1, messages });
        if (next - reported >= options.count / 4 && next < options.count) {
          reported = next;
          options.progress(`pre-fill: ${next.toLocaleString('en-US')} of ${options.count.toLocaleString('en-US')} produced`);
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, sendChunks));
  } finally {
    await producer.disconnect();
  }
  return { seconds: (performance.now() - started) / 1000, bytes };
}

/** Deletes a consumer group the run created (its committed offsets would otherwise stay on the broker). */
export async function deleteConsumerGroup(brokers: string[], groupId: string): Promise<void> {
  const admin = benchKafka(brokers).admin();
  await admin.connect();
  try {
    const { groups } = await admin.listGroups();
    if (groups.some((group) => group.groupId === groupId)) await admin.deleteGroups([groupId]);
  } finally {
    await admin.disconnect();
  }
}
