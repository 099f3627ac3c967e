/**
 * The event log port (DESIGN.md §4): ingress appends verified webhooks, persist consumers
 * read them in batches. Kafka is the production adapter; an in-process log is the embedded one.
 */

/** A verified webhook on its way to storage. `rawBody` is exactly the bytes received. */
export interface IngressRecord {
  eventId: string;
  integrationId: string;
  provider: string;
  eventKey: string;
  eventType: string | null;
  /** Set when the integration orders by something other than the event key. */
  orderingKey: string | null;
  receivedAt: Date;
  sourceIp: string | null;
  headers: Record<string, string>;
  rawBody: Buffer;
}

/** A record as read back from the log, with its position. */
export interface LoggedRecord {
  record: IngressRecord;
  partition: number;
  offset: string;
}

/** A message that could not be decoded; it is dead-lettered, never retried. */
export interface UndecodableMessage {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  reason: string;
}

/**
 * A message moved to the dead-letter topic: undecodable, or a record the database refused. The
 * latter keeps its wire headers, so that it can be read back as the record it was.
 */
export interface DeadLetter extends UndecodableMessage {
  headers?: Record<string, string>;
}

export interface EventLogBatch {
  records: LoggedRecord[];
  undecodable: UndecodableMessage[];
  /** Keeps group membership alive during a long batch. */
  heartbeat(): Promise<void>;
}

/** How far the persist consumers trail one partition of the log. */
export interface PartitionLag {
  partition: number;
  committedOffset: string | null;
  endOffset: string;
  lag: string;
}

export type BatchHandler = (batch: EventLogBatch) => Promise<void>;

export interface EventLogProducer {
  start(): Promise<void>;
  /** Resolves once the log has durably accepted the record (Kafka: acks=all). */
  publish(record: IngressRecord): Promise<void>;
  healthy(): Promise<boolean>;
  stop(): Promise<void>;
}

export interface EventLogConsumer {
  /** Starts consuming; a batch's position is committed only after `handler` resolves. */
  start(handler: BatchHandler): Promise<void>;
  /** Moves messages that can never be stored aside (Kafka: the DLQ topic), so their partition keeps moving. */
  deadLetter(items: DeadLetter[]): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The message key: records of one event (or of one ordering key, when the integration sets one)
 * land on one partition, in order of receipt.
 */
export function partitionKeyOf(record: Pick<IngressRecord, 'integrationId' | 'eventKey' | 'orderingKey'>): string {
  return `${record.integrationId}:${record.orderingKey ?? record.eventKey}`;
}
