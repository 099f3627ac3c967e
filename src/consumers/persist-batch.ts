import { runPersistStatement, type PersistColumns } from '../db/persist-statement.js';
import type { Database } from '../db/client.js';
import { auditEntries } from '../db/schema.js';
import { jsonbCanHold } from '../json/scan-json.js';
import { FORM_CONTENT_TYPE, parseFormBody } from '../ingress/form-body.js';
import type { LoggedRecord } from '../ports/event-log.js';

export interface PersistResult {
  /** Events written by this call. */
  inserted: string[];
  /** Events that were already stored (a redelivery or a duplicate send). */
  duplicates: string[];
  /** Pending deliveries created for the new events. */
  deliveriesCreated: number;
}

export interface PersistOptions {
  /**
   * Leave `payload` empty for every record. The persist consumer stores a lone record this way when
   * the database refused it as a data error: the raw body is the record, the payload only a view.
   */
  withoutPayload?: boolean;
}

/**
 * Stores a batch in one statement (see PERSIST_STATEMENT): the events, and for each new one its
 * `event.received` audit entry and one pending delivery per enabled destination. The unique
 * `(integration_id, event_key)` is the backstop that keeps every event stored once, whatever
 * Redis says and however often Kafka redelivers.
 */
export async function persistBatch(db: Database, batch: LoggedRecord[], options: PersistOptions = {}): Promise<PersistResult> {
  // One row per event id: a batch may hold the same webhook twice.
  const byId = new Map<string, LoggedRecord>();
  for (const item of batch) if (!byId.has(item.record.eventId)) byId.set(item.record.eventId, item);
  const unique = [...byId.values()];
  if (unique.length === 0) return { inserted: [], duplicates: [], deliveriesCreated: 0 };

  const columns: PersistColumns = {
    id: [],
    integrationId: [],
    provider: [],
    eventKey: [],
    eventType: [],
    orderingKey: [],
    rawBody: [],
    headers: [],
    jsonbOk: [],
    sourceIp: [],
    receivedAt: [],
    kafkaPartition: [],
    kafkaOffset: [],
    payloadJson: [],
  };
  for (const { record, partition, offset } of unique) {
    columns.id.push(record.eventId);
    columns.integrationId.push(record.integrationId);
    columns.provider.push(record.provider);
    columns.eventKey.push(record.eventKey);
    columns.eventType.push(record.eventType);
    columns.orderingKey.push(record.orderingKey);
    columns.rawBody.push(record.rawBody);
    columns.headers.push(JSON.stringify(record.headers));
    // A form post (Twilio, Slack commands) is stored raw and shown as an object of its fields.
    const formJson = FORM_CONTENT_TYPE.test(record.headers['content-type'] ?? '') ? JSON.stringify(parseFormBody(record.rawBody)) : null;
    columns.payloadJson.push(formJson);
    columns.jsonbOk.push(!options.withoutPayload && jsonbCanHold(formJson === null ? record.rawBody : Buffer.from(formJson, 'utf8')));
    columns.sourceIp.push(record.sourceIp);
    columns.receivedAt.push(record.receivedAt);
    columns.kafkaPartition.push(partition);
    columns.kafkaOffset.push(offset);
  }
  const result = await runPersistStatement(db, columns);
  const insertedSet = new Set(result.inserted);
  return {
    inserted: result.inserted,
    duplicates: columns.id.filter((id) => !insertedSet.has(id)),
    deliveriesCreated: result.deliveriesCreated,
  };
}

/** What the dead-letter audit entry says about a message: its position and why, never its body. */
export interface DeadLetterNote {
  partition: number;
  offset: string;
  reason: string;
  key: Buffer | null;
  /** Set when the message decoded (a record the database refused). */
  eventId?: string;
  provider?: string;
}

/** Text that jsonb and a text column accept, whatever it was: NULs and lone surrogates escaped. */
function storable(text: string, max: number): string {
  return text
    .slice(0, max)
    .replaceAll('\u0000', '\\u0000')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** Audit entries for messages that went to the dead-letter topic (they have no event row). */
export async function recordDeadLetters(db: Database, items: DeadLetterNote[]): Promise<void> {
  if (items.length === 0) return;
  await db.insert(auditEntries).values(
    items.map((item) => ({
      actor: 'system:persist',
      action: 'event.dead_lettered',
      targetType: 'kafka_message',
      targetId: `${item.partition}:${item.offset}`,
      details: {
        partition: item.partition,
        offset: item.offset,
        reason: storable(item.reason, 500),
        key: item.key === null ? null : storable(item.key.toString('utf8'), 200),
        ...(item.eventId ? { eventId: item.eventId } : {}),
        ...(item.provider ? { provider: storable(item.provider, 100) } : {}),
      },
    })),
  );
}
