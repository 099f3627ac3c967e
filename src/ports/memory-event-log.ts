import type { Logger } from '../log.js';
import type {
  BatchHandler,
  DeadLetter,
  EventLogBatch,
  EventLogConsumer,
  EventLogProducer,
  IngressRecord,
  LoggedRecord,
  PartitionLag,
  UndecodableMessage,
} from './event-log.js';
import { decodeIngressMessage, encodeIngressRecord, type WireMessage } from './ingress-codec.js';
import { BacklogFullError, SendTimeoutError } from './micro-batcher.js';
import { partitionForKey } from './partitioner.js';

/**
 * The embedded event log (DESIGN.md §4): an in-process partitioned log. It is NOT durable —
 * records live in memory only until the persist step has committed them, so a crash loses
 * whatever was not yet stored. To make that safe, `publish` acknowledges only after the
 * consumer's handler committed the record: ingress answers 2xx only for stored events, and a
 * provider retries everything else. Kafka is the durable adapter.
 */
export interface MemoryEventLogOptions {
  partitions: number;
  /** Records handed to the handler at once, from one partition. */
  maxBatch?: number;
  /** How long a publisher waits for its record to be committed before it is told to retry. */
  publishTimeoutMs?: number;
  /** Uncommitted records beyond which new ones are refused at once (the consumer is down or slow). */
  maxPending?: number;
  /** Backoff before a failed batch is handed over again. */
  retryDelayMs?: (attempt: number) => number;
  log?: Logger;
}

export interface MemoryEventLog {
  producer: EventLogProducer;
  consumer: EventLogConsumer;
  /** What the consumer dead-lettered, oldest first (kept in memory, most recent only). */
  deadLetters(): DeadLetter[];
  /** Uncommitted records per partition, in the shape of the Kafka lag reader's answer. */
  lag(): PartitionLag[];
}

interface Entry {
  offset: string;
  message: WireMessage;
  /** Settles the publisher's promise; does nothing once it has timed out. */
  acknowledge(): void;
}

interface Partition {
  index: number;
  entries: Entry[];
  nextOffset: bigint;
  /** Set while the partition's loop waits for records. */
  wake: (() => void) | undefined;
}

interface Run {
  stopping: boolean;
  loops: Promise<void>[];
  /** Ends backoff sleeps early when the consumer stops. */
  sleepers: Set<() => void>;
}

const DEAD_LETTERS_KEPT = 1000;

export function createMemoryEventLog(options: MemoryEventLogOptions): MemoryEventLog {
  const maxBatch = options.maxBatch ?? 500;
  const publishTimeoutMs = options.publishTimeoutMs ?? 5000;
  const maxPending = options.maxPending ?? 20_000;
  const retryDelayMs = options.retryDelayMs ?? ((attempt: number) => Math.min(100 * 2 ** attempt, 2000));
  if (!Number.isInteger(options.partitions) || options.partitions < 1) throw new Error('partitions must be a positive integer');
  const partitions: Partition[] = Array.from({ length: options.partitions }, (_, index) => ({
    index,
    entries: [],
    nextOffset: 0n,
    wake: undefined,
  }));
  const deadLetters: DeadLetter[] = [];
  const awaitingAck = new Set<Promise<void>>();
  let uncommitted = 0;
  let producerStopped = false;
  let run: Run | undefined;

  function append(record: IngressRecord): Promise<void> {
    // Through the wire codec, as with Kafka; the copy keeps the caller's buffer out of the log.
    const message = encodeIngressRecord({ ...record, rawBody: Buffer.from(record.rawBody) });
    const partition = partitions[partitionForKey(message.key, partitions.length)]!;
    const offset = partition.nextOffset++;
    uncommitted++;
    return new Promise<void>((resolve, reject) => {
      // On timeout the record stays in the log and is still consumed, like a Kafka send whose ack was lost.
      const timer = setTimeout(() => reject(new SendTimeoutError(publishTimeoutMs)), publishTimeoutMs);
      partition.entries.push({
        offset: offset.toString(),
        message,
        acknowledge: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      partition.wake?.();
    });
  }

  const producer: EventLogProducer = {
    async start() {
      producerStopped = false;
    },
    publish(record) {
      if (producerStopped) return Promise.reject(new Error('the event log producer is stopped'));
      if (uncommitted >= maxPending) return Promise.reject(new BacklogFullError(maxPending));
      const acknowledged = append(record);
      const settled = acknowledged.then(
        () => undefined,
        () => undefined,
      );
      awaitingAck.add(settled);
      void settled.finally(() => awaitingAck.delete(settled));
      return acknowledged;
    },
    async healthy() {
      return !producerStopped;
    },
    async stop() {
      // Like draining Kafka's batcher: every publisher gets its answer (commit or timeout) first.
      producerStopped = true;
      await Promise.all([...awaitingAck]);
    },
  };

  function toBatch(partition: Partition, entries: Entry[]): EventLogBatch {
    const records: LoggedRecord[] = [];
    const undecodable: UndecodableMessage[] = [];
    for (const { offset, message } of entries) {
      const decoded = decodeIngressMessage(message.value, message.headers);
      if (decoded.ok) records.push({ record: decoded.record, partition: partition.index, offset });
      else
        undecodable.push({
          partition: partition.index,
          offset,
          key: Buffer.from(message.key, 'utf8'),
          value: message.value,
          reason: decoded.reason,
        });
    }
    return { records, undecodable, heartbeat: () => Promise.resolve() };
  }

  function sleep(current: Run, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        current.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      current.sleepers.add(done);
    });
  }

  function nextRecords(partition: Partition): Promise<void> {
    return new Promise((resolve) => {
      partition.wake = () => {
        partition.wake = undefined;
        resolve();
      };
    });
  }

  /** One partition, in order: a batch is retried until the handler resolves; nothing behind it moves meanwhile. */
  async function consume(partition: Partition, handler: BatchHandler, current: Run): Promise<void> {
    let attempt = 0;
    while (!current.stopping) {
      if (partition.entries.length === 0) {
        await nextRecords(partition);
        continue;
      }
      const taken = partition.entries.slice(0, maxBatch);
      try {
        await handler(toBatch(partition, taken));
      } catch (error) {
        if (current.stopping) break;
        // The handler retries what can succeed later itself; this is the backstop. One line when a
        // partition starts failing and one when it moves again, never one per attempt or a body.
        if (attempt === 0) options.log?.error({ partition: partition.index, err: (error as Error).name }, 'batch handler failed; retrying with backoff');
        await sleep(current, retryDelayMs(attempt++));
        continue;
      }
      if (attempt > 0) options.log?.warn({ partition: partition.index, failedAttempts: attempt }, 'batch handler succeeded again');
      attempt = 0;
      // Commit: only this loop removes entries, and publishers only append, so `taken` is still the head.
      partition.entries.splice(0, taken.length);
      uncommitted -= taken.length;
      for (const entry of taken) entry.acknowledge();
    }
  }

  const consumer: EventLogConsumer = {
    async start(handler) {
      if (run) throw new Error('the event log consumer is already started');
      const current: Run = { stopping: false, loops: [], sleepers: new Set() };
      run = current;
      current.loops = partitions.map((partition) =>
        consume(partition, handler, current).catch((error: unknown) => {
          options.log?.error({ partition: partition.index, err: (error as Error).message }, 'partition loop crashed');
        }),
      );
    },
    async deadLetter(items) {
      deadLetters.push(...items);
      if (deadLetters.length > DEAD_LETTERS_KEPT) deadLetters.splice(0, deadLetters.length - DEAD_LETTERS_KEPT);
    },
    async stop() {
      const current = run;
      if (!current) return;
      current.stopping = true;
      for (const partition of partitions) partition.wake?.();
      for (const wake of [...current.sleepers]) wake();
      // A batch in flight finishes (and commits, if its handler resolves) before stop returns.
      await Promise.all(current.loops);
      run = undefined;
    },
  };

  const lag = (): PartitionLag[] =>
    partitions.map((partition) => {
      const waiting = BigInt(partition.entries.length);
      const committed = partition.nextOffset - waiting;
      return {
        partition: partition.index,
        committedOffset: committed === 0n ? null : committed.toString(),
        endOffset: partition.nextOffset.toString(),
        lag: waiting.toString(),
      };
    });

  return { producer, consumer, deadLetters: () => [...deadLetters], lag };
}
