import { Kafka, logLevel as KafkaLogLevel, Partitioners, type Consumer, type LogEntry, type Producer } from 'kafkajs';
import type { Logger } from '../log.js';
import type { BatchHandler, DeadLetter, EventLogConsumer, EventLogProducer, IngressRecord, LoggedRecord, PartitionLag, UndecodableMessage } from './event-log.js';
import { decodeIngressMessage, encodeIngressRecord, wireBytesOf, type WireMessage } from './ingress-codec.js';
import { javaCompatiblePartitioner } from './partitioner.js';
import { growKafkaEncoderWithoutZeroFill } from './kafkajs-encoder.js';
import { encodeKafkaProduceInOnePass } from './kafkajs-produce.js';
import { manageConsumerMembership } from './consumer-membership.js';
import { createOffsetCommitter } from './offset-committer.js';
import { BacklogFullError, createMicroBatcher, SendTimeoutError, type ItemFailures } from './micro-batcher.js';
import { createPublishHealth } from './publish-health.js';
import { createRepeatFilter } from './repeat-filter.js';

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  topic: string;
  dlqTopic: string;
  consumerGroup: string;
  partitions: number;
}

/**
 * kafkajs logs through the app logger (STYLE.md §9), data first. During a broker outage it logs
 * every failed request; repeats of one message are held back for a while and counted, so an
 * outage costs a few lines (STYLE.md §14).
 */
function kafkaLogCreator(log: Logger) {
  const admit = createRepeatFilter({ windowMs: 30_000 });
  return () =>
    ({ level, log: entry }: LogEntry) => {
      const { message, ...fields } = entry;
      if (level <= KafkaLogLevel.WARN) {
        // Numbers (retry counts, delays, correlation ids) vary from one repeat to the next.
        const { emit, repeated } = admit(`${level}:${message.replace(/\d+(\.\d+)?/g, '#')}`);
        if (!emit) return;
        // Stack traces of expected network failures say nothing an operator can use.
        delete (fields as { stack?: unknown }).stack;
        const data = { component: 'kafkajs', ...fields, ...(repeated > 0 ? { repeatedSinceLastLine: repeated } : {}) };
        if (level <= KafkaLogLevel.ERROR) log.error(data, message);
        else log.warn(data, message);
      } else log.debug({ component: 'kafkajs', ...fields }, message);
    };
}

// Whether kafkajs's encoding is sped up (once per process; see kafkajs-encoder.ts and kafkajs-produce.ts).
let encoderPatched: boolean | undefined;

/**
 * `retryForever`: the consumer's client. kafkajs gives up on an unreachable broker after a few
 * retries and restarts the consumer as a NEW group member; after the broker returns, the group
 * then waits a whole session timeout for the old member that will never come back. Retrying the
 * connection for as long as it takes keeps the member's identity, so the group resumes at once.
 */
export function createKafkaClient(settings: KafkaSettings, log: Logger, options: { retryForever?: boolean } = {}): Kafka {
  if (encoderPatched === undefined) {
    encoderPatched = growKafkaEncoderWithoutZeroFill() && encodeKafkaProduceInOnePass();
    if (!encoderPatched) log.info({}, "this kafkajs release's encoder is not the one Hookgate patches: produce requests cost more CPU");
  }
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    logLevel: KafkaLogLevel.INFO,
    logCreator: kafkaLogCreator(log),
    connectionTimeout: 3000,
    requestTimeout: 10000,
    retry: options.retryForever
      ? { initialRetryTime: 100, maxRetryTime: 500, retries: Number.MAX_SAFE_INTEGER }
      : { initialRetryTime: 100, maxRetryTime: 2000, retries: 5 },
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
            topics: missing.map((topic) => ({
              topic,
              numPartitions: settings.partitions,
              configEntries: [{ name: 'max.message.bytes', value: String(TOPIC_MAX_MESSAGE_BYTES) }],
            })),
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

/** Bytes of webhooks in one produce request (before the broker's own per-record overhead). */
export const MAX_SEND_BYTES = 4 * 1024 * 1024;

/**
 * The largest record batch the ingress topics accept. Kafka's default (about 1 MiB) equals the
 * default body limit, so a body near it, plus its headers and a batch's overhead, would be refused
 * and answered 503 on every retry. Set on the topics Hookgate creates; `INGRESS_MAX_BODY_BYTES`
 * above ~15 MiB needs the same on a broker-managed topic.
 */
export const TOPIC_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

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

/** How a broker refuses a send for its size (a record, or the batch for one partition). */
const REFUSED_FOR_SIZE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
const refusedForSize = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && REFUSED_FOR_SIZE.has(String((error as { type?: unknown }).type));

/**
 * Sends `messages`; when the broker refuses them for their size, sends each half in turn (first
 * half first, so a partition's order holds) down to single messages: a topic whose
 * `max.message.bytes` is below a shared send (one created by hand with Kafka's 1 MiB default)
 * still takes every webhook that fits alone, instead of failing every caller of the send. Returns
 * the messages refused alone, by index; any other failure rejects the whole send as before.
 */
export async function sendHalvingWhenTooLarge<T>(
  send: (messages: T[]) => Promise<void>,
  messages: T[],
  onHalved: (count: number) => void,
): Promise<ItemFailures | undefined> {
  let refused: Map<number, Error> | undefined;
  // Index ranges [from, to) still to send, in order.
  const ranges: [number, number][] = [[0, messages.length]];
  while (ranges.length > 0) {
    const [from, to] = ranges.shift()!;
    try {
      await send(from === 0 && to === messages.length ? messages : messages.slice(from, to));
    } catch (error) {
      if (!refusedForSize(error)) throw error;
      if (to - from === 1) {
        (refused ??= new Map()).set(from, error as Error);
        continue;
      }
      onHalved(to - from);
      const middle = from + Math.ceil((to - from) / 2);
      ranges.unshift([from, middle], [middle, to]);
    }
  }
  return refused;
}

export function createKafkaProducer(
  kafka: Kafka,
  settings: KafkaSettings,
  producerSettings: ProducerSettings,
  log?: Logger,
): EventLogProducer {
  // Not idempotent, on purpose. kafkajs's idempotent producer can rewind its sequence numbers
  // after a send that failed on the client but was written by the broker (kafkajs #598); later
  // batches then reuse numbers the broker already holds and are acknowledged as duplicates
  // without being stored: a 202 for a webhook that is nowhere. Without idempotence a retried
  // send may write a record twice, which is harmless here (event ids are deterministic and
  // storage is unique), and one request in flight keeps per-partition order. acks=all: an ack
  // means every in-sync replica has the record.
  // Partitions as the Java client does (murmur2 of the key), so every Kafka client agrees on a
  // key's partition; ours picks what kafkajs's DefaultPartitioner does, at a fraction of its cost.
  const producer: Producer = kafka.producer({
    idempotent: false,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: javaCompatiblePartitioner,
    // A send gives up after a few seconds so the next batch goes out with fresh webhooks; the
    // callers of the failed one have their 503 by their own deadline anyway.
    retry: { retries: 4, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  const state = createPublishHealth({ recentMs: producerSettings.publishTimeoutMs });
  const admitHalving = createRepeatFilter({ windowMs: 60_000 });
  const onHalved = (count: number) => {
    const { emit, repeated } = admitHalving('halved');
    if (emit) {
      log?.warn(
        { topic: settings.topic, records: count, maxSendBytes: MAX_SEND_BYTES, ...(repeated > 0 ? { repeatedSinceLastLine: repeated } : {}) },
        'the broker refused a shared send for its size; sending it in halves (raise the topic\'s max.message.bytes to at least 5 MiB)',
      );
    }
  };
  const sendOnce = (messages: WireMessage[]) =>
    producer.send({ topic: settings.topic, acks: -1, timeout: producerSettings.publishTimeoutMs, messages }).then(() => undefined);
  const batcher = createMicroBatcher<WireMessage>({
    send: async (messages) => {
      let refused: ItemFailures | undefined;
      try {
        refused = await sendHalvingWhenTooLarge(sendOnce, messages, onHalved);
      } catch (error) {
        state.failed();
        throw error;
      }
      state.succeeded();
      return refused;
    },
    maxBatch: producerSettings.batchMax,
    // One produce request stays well under the broker's request and record-batch limits, however
    // large the webhooks: a batch is cut at MAX_SEND_BYTES of whole records (body, key and the
    // metadata header with the request's headers), and a single webhook always goes alone.
    maxBatchBytes: MAX_SEND_BYTES,
    sizeOf: wireBytesOf,
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
    publish: (record: IngressRecord) =>
      batcher.push(encodeIngressRecord(record)).catch((error: unknown) => {
        // A webhook that waited past its deadline, or found the backlog full, is a failed publish
        // too, even when the send it waited for has not failed (yet).
        if (error instanceof SendTimeoutError || error instanceof BacklogFullError) state.failed();
        throw error;
      }),
    // Healthy means this producer's sends succeed, not only that the broker answers metadata.
    async healthy() {
      if (!state.publishing()) throw new Error('recent publishes to Kafka failed');
      return health.check();
    },
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

/** The longest a consumer's stop takes: finish the batches in hand, commit, leave the group. */
const STOP_BOUND_MS = 15_000;

/**
 * Group membership timings. A member that dies is noticed after `sessionTimeout` (6 s is the
 * smallest a broker accepts by default), so its partitions move within about 8 s; the survivors
 * hear of a rebalance at their next heartbeat (every 0.5 s, from a running batch too: see below).
 */
export const CONSUMER_TIMINGS = { sessionTimeout: 6_000, heartbeatInterval: 500, rebalanceTimeout: 15_000 } as const;

export function createKafkaConsumer(
  kafka: Kafka,
  settings: KafkaSettings,
  log: Logger,
  options: { maxBytesPerPartition?: number } = {},
): EventLogConsumer {
  let stopping = false;
  // Before kafka.consumer(): the wrapper applies to the clusters the client creates from now on.
  const installed = manageConsumerMembership(kafka, () => !stopping, {
    onLookupRetry: (attempt) => {
      if (attempt === 1) log.debug({}, 'group coordinator not found (broker away); looking again, keeping this member');
    },
    onStaleMemberLeft: (memberId) => log.info({ memberId }, "this consumer's previous group member left the group before it joined again"),
  });
  if (!installed) log.warn({}, 'this kafkajs has no cluster factory to wrap: a broker restart may leave stale members in the group');
  const consumer: Consumer = kafka.consumer({
    groupId: settings.consumerGroup,
    allowAutoTopicCreation: false,
    ...CONSUMER_TIMINGS,
    // Bounds a batch: at 1 MiB per partition a batch holds a few hundred to a few thousand webhooks.
    maxBytesPerPartition: options.maxBytesPerPartition ?? 1024 * 1024,
    // Only bounds an idle fetch (data returns at once); short so shutdown does not wait long.
    maxWaitTimeInMs: 1000,
    // With a client made by createKafkaClient(…, { retryForever: true }), a lost broker is retried
    // for as long as it takes and this member keeps its identity (see there).
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 500 },
  });

  // Dead letters are rare: their producer connects on first use.
  const dlqProducer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  let dlqConnected: Promise<void> | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  const newCommitter = () =>
    createOffsetCommitter({
      commit: (positions) => consumer.commitOffsets(positions),
      onError: (error, positions) =>
        log.debug({ err: (error as Error).message, partitions: positions.map((p) => p.partition) }, 'offset commit failed; trying again'),
    });
  // Replaced at each start: a stop closes it.
  let committer = newCommitter();
  // Batches being handled now: a stop lets them finish and commits their positions first.
  const handling = new Set<Promise<unknown>>();
  let stopListening: (() => void) | undefined;

  const runConfig = (handler: BatchHandler): Parameters<Consumer['run']>[0] => ({
    autoCommit: false,
    eachBatchAutoResolve: false,
    // Batches of different partitions are stored side by side (each in its own transaction);
    // one partition's batches still go one after another, so per-key order holds.
    partitionsConsumedConcurrently: Math.min(4, settings.partitions),
    eachBatch: async ({ batch, heartbeat, resolveOffset, isRunning, isStale }) => {
      // A stopping consumer takes no new batch: nothing is resolved, the successor reads it.
      if (batch.messages.length === 0 || !isRunning() || isStale() || stopping) return;
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
      // kafkajs heartbeats only when asked: a batch that waits on the database keeps the
      // membership alive by itself, so a slow batch never costs the group a rebalance.
      const beat = setInterval(() => void heartbeat().catch(() => {}), CONSUMER_TIMINGS.heartbeatInterval);
      const handled = handler({ records, undecodable, heartbeat });
      handling.add(handled);
      try {
        await handled;
      } finally {
        clearInterval(beat);
        handling.delete(handled);
      }
      // Invariant: the position moves only after the handler's transaction has committed. The
      // commit itself runs beside the next batches (see offset-committer.ts for why).
      const last = batch.messages[batch.messages.length - 1]!.offset;
      resolveOffset(last);
      committer.note({ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() });
      log.debug({ partition: batch.partition, lastOffset: last, count: batch.messages.length }, 'batch handled');
    },
  });

  async function run(handler: BatchHandler): Promise<void> {
    await consumer.connect();
    await consumer.run(runConfig(handler));
  }

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
      // A consumer may be started again after a stop (readiness drills, tests): same group, same member role.
      stopping = false;
      committer = newCommitter();
      stopListening?.();
      await ensureTopics(kafka, settings);
      await consumer.subscribe({ topics: [settings.topic], fromBeginning: true });
      // kafkajs restarts itself after errors it deems retriable; after any other crash it stays
      // down, and a persist process that consumes nothing must not look alive. Start it again.
      stopListening = consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (payload.restart || stopping) return;
        log.error({ err: payload.error.message }, 'kafka consumer stopped after an error; starting it again');
        const again = () => {
          restartTimer = undefined;
          if (stopping) return;
          run(handler).catch((error: unknown) => {
            log.warn({ err: (error as Error).message }, 'kafka consumer could not start yet; trying again');
            restartTimer = setTimeout(again, 1000);
          });
        };
        restartTimer = setTimeout(again, 1000);
      });
      await run(handler);
    },
    async stop() {
      stopping = true;
      clearTimeout(restartTimer);
      // One bound for the whole stop: with the broker gone nothing below can finish, and the
      // group times this member out by itself.
      const deadline = Date.now() + STOP_BOUND_MS;
      const until = (at: number) => new Promise<false>((resolve) => setTimeout(() => resolve(false), Math.max(0, at - Date.now())).unref());
      // Let the batches in hand finish and their positions reach the group before leaving it, so
      // a clean stop hands its successor no redelivery (storage would absorb one anyway).
      await Promise.race([Promise.allSettled([...handling]), until(deadline - 5_000)]);
      if (!(await committer.flush(Math.min(3_000, deadline - Date.now()))))
        log.warn({ pending: committer.pending() }, 'offsets not committed before stopping; the next owner re-reads those records');
      committer.close();
      const left = consumer.disconnect().then(
        () => true,
        (error: unknown) => {
          log.warn({ err: (error as Error).message }, 'kafka consumer did not leave the group cleanly');
          return true;
        },
      );
      const gaveUp = until(Math.max(deadline, Date.now() + 2_000));
      if (!(await Promise.race([left, gaveUp]))) log.warn({}, 'kafka consumer did not leave the group in time; stopping anyway');
      if (dlqConnected) await Promise.race([dlqProducer.disconnect(), gaveUp]);
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
