import { and, eq, inArray } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { auditEntries, deliveries, destinations, events, processingJobs } from '../db/schema.js';
import type { LoggedRecord, UndecodableMessage } from '../ports/event-log.js';
import { deliveryRowsFor } from './delivery-rows.js';

export interface PersistResult {
  /** Events written by this call. */
  inserted: string[];
  /** Events that were already stored (a redelivery or a duplicate send). */
  duplicates: string[];
  /** Pending deliveries created for the new events. */
  deliveriesCreated: number;
}

/**
 * Stores a batch in one transaction: the events, and for each new one its processing job, its
 * `event.received` audit entry and one pending delivery per enabled destination. The unique
 * `(integration_id, event_key)` is the backstop that keeps every event stored once, whatever
 * Redis says and however often Kafka redelivers.
 */
export async function persistBatch(db: Database, batch: LoggedRecord[]): Promise<PersistResult> {
  // One row per event id: a batch may hold the same webhook twice.
  const byId = new Map<string, LoggedRecord>();
  for (const item of batch) if (!byId.has(item.record.eventId)) byId.set(item.record.eventId, item);
  const unique = [...byId.values()];
  if (unique.length === 0) return { inserted: [], duplicates: [], deliveriesCreated: 0 };

  let deliveriesCreated = 0;
  const insertedRows = await db.transaction(async (tx) => {
    const rows = await tx
      .insert(events)
      .values(
        unique.map(({ record, partition, offset }) => ({
          id: record.eventId,
          integrationId: record.integrationId,
          provider: record.provider,
          eventKey: record.eventKey,
          eventType: record.eventType,
          orderingKey: record.orderingKey,
          rawBody: record.rawBody,
          headers: record.headers,
          payload: JSON.parse(record.rawBody.toString('utf8')) as unknown,
          sourceIp: record.sourceIp,
          receivedAt: record.receivedAt,
          kafkaPartition: partition,
          kafkaOffset: BigInt(offset),
        })),
      )
      .onConflictDoNothing()
      .returning({
        id: events.id,
        integrationId: events.integrationId,
        eventKey: events.eventKey,
        orderingKey: events.orderingKey,
        provider: events.provider,
      });
    if (rows.length === 0) return rows;

    const integrationIds = [...new Set(rows.map((row) => row.integrationId))];
    const targets = await tx
      .select({ id: destinations.id, integrationId: destinations.integrationId, ordered: destinations.ordered })
      .from(destinations)
      .where(and(inArray(destinations.integrationId, integrationIds), eq(destinations.enabled, true)));

    await tx.insert(processingJobs).values(
      rows.map((row) => ({ eventId: row.id, kind: 'persist', status: 'COMPLETED' as const, completedAt: new Date() })),
    );
    await tx.insert(auditEntries).values(
      rows.map((row) => {
        const { record, partition, offset } = byId.get(row.id)!;
        return {
          actor: 'system:persist',
          action: 'event.received',
          targetType: 'event',
          targetId: row.id,
          sourceIp: record.sourceIp,
          details: { provider: row.provider, eventKey: row.eventKey, partition, offset },
        };
      }),
    );
    const pending = deliveryRowsFor(rows, targets);
    if (pending.length > 0) {
      const created = await tx.insert(deliveries).values(pending).onConflictDoNothing().returning({ id: deliveries.id });
      deliveriesCreated = created.length;
    }
    return rows;
  });

  const inserted = insertedRows.map((row) => row.id);
  const insertedSet = new Set(inserted);
  return {
    inserted,
    duplicates: unique.map((item) => item.record.eventId).filter((id) => !insertedSet.has(id)),
    deliveriesCreated,
  };
}

/** Audit entries for messages that went to the dead-letter topic (they have no event row). */
export async function recordDeadLetters(db: Database, items: UndecodableMessage[]): Promise<void> {
  if (items.length === 0) return;
  await db.insert(auditEntries).values(
    items.map((item) => ({
      actor: 'system:persist',
      action: 'event.dead_lettered',
      targetType: 'kafka_message',
      targetId: `${item.partition}:${item.offset}`,
      details: { partition: item.partition, offset: item.offset, reason: item.reason, key: item.key?.toString('utf8').slice(0, 200) ?? null },
    })),
  );
}
