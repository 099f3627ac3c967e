import { randomUUID } from 'node:crypto';
import type { Database } from '../db/client.js';
import type { Logger } from '../log.js';
import { createOutageLog, type OutageLog } from '../outage-log.js';
import type { Coordination } from '../ports/coordination.js';
import type { EventLogBatch, EventLogConsumer, LoggedRecord } from '../ports/event-log.js';
import { persistBatch, recordDeadLetters } from './persist-batch.js';
import type { StatusPublisher } from './status-events.js';

const MARKER_TTL_SECONDS = 7 * 24 * 3600;
const LOCK_TTL_MS = 60_000;
const LOCK_WAIT_MS = 5_000;

export interface PersistConsumerDeps {
  consumer: EventLogConsumer;
  db: Database;
  coordination: Coordination;
  status: Pick<StatusPublisher, 'wakeDeliveryWorkers' | 'eventsReceived'>;
  log: Logger;
  /** Backoff between attempts at a batch that failed for a transient reason. */
  retryDelayMs?: (attempt: number) => number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The persist step: Kafka batch → Postgres, exactly once. Redis markers and locks only save work
 * and keep two consumers (say, during a rebalance) off the same event; when Redis is unavailable
 * every record goes to Postgres, whose unique key decides.
 */
export function createPersistConsumer(deps: PersistConsumerDeps) {
  const { log, coordination } = deps;
  const owner = `persist-${randomUUID()}`;
  const retryDelayMs = deps.retryDelayMs ?? ((attempt: number) => Math.min(100 * 2 ** attempt, 5000));
  let stopping = false;

  // One line when Redis markers or locks go away and one (with a count) when they return.
  const outages = new Map<string, OutageLog>();
  const outage = (what: string) => outages.get(what) ?? outages.set(what, createOutageLog(log, what, { consequence: 'relying on the database alone' })).get(what)!;

  /**
   * Redis is an optimisation here: on any failure, fall back to "not known, not locked". With no
   * ids there is nothing to ask, and no answer to count as Redis being back.
   */
  async function optional<T>(what: string, ids: readonly string[], run: () => Promise<T>, fallback: T): Promise<T> {
    if (ids.length === 0) return fallback;
    try {
      const result = await run();
      outage(what).succeeded();
      return result;
    } catch (error) {
      outage(what).failed(error);
      return fallback;
    }
  }

  async function unmarked(records: LoggedRecord[]): Promise<LoggedRecord[]> {
    const ids = records.map((item) => item.record.eventId);
    const known = await optional('markers', ids, () => coordination.markersExist(ids), []);
    return records.filter((_, index) => !known[index]);
  }

  /** Locks what it can; waits a little for events another consumer is storing right now. */
  async function lockOrWait(records: LoggedRecord[], batch: EventLogBatch): Promise<{ todo: LoggedRecord[]; locked: string[] }> {
    const ids = records.map((item) => item.record.eventId);
    const granted = await optional('locks', ids, () => coordination.acquireLocks(ids, owner, LOCK_TTL_MS), ids.map(() => true));
    const locked = ids.filter((_, index) => granted[index]);
    let heldElsewhere = records.filter((_, index) => !granted[index]);
    const deadline = Date.now() + LOCK_WAIT_MS;
    while (heldElsewhere.length > 0 && Date.now() < deadline) {
      await sleep(100);
      await batch.heartbeat().catch(() => {});
      heldElsewhere = await unmarked(heldElsewhere);
    }
    // Still unmarked after the wait: the other holder died or is slow. Postgres decides.
    return { todo: [...records.filter((_, index) => granted[index]), ...heldElsewhere], locked };
  }

  async function withRetries<T>(what: string, batch: EventLogBatch, run: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await run();
      } catch (error) {
        if (stopping) throw error;
        // Never skip: the batch is retried until it commits; nothing past it is committed meanwhile.
        log.error({ attempt, err: (error as Error).message }, `${what} failed; retrying`);
        await sleep(retryDelayMs(attempt));
        await batch.heartbeat().catch(() => {});
      }
    }
  }

  async function handleBatch(batch: EventLogBatch): Promise<void> {
    if (batch.undecodable.length > 0) {
      for (const item of batch.undecodable) log.error({ partition: item.partition, offset: item.offset, reason: item.reason }, 'undecodable message dead-lettered');
      await withRetries('dead-lettering', batch, async () => {
        await deps.consumer.deadLetter(batch.undecodable);
        await recordDeadLetters(deps.db, batch.undecodable);
      });
    }
    // A provider's quick retry can put one event in a batch twice; lock and store it once.
    const byId = new Map<string, LoggedRecord>();
    for (const item of batch.records) if (!byId.has(item.record.eventId)) byId.set(item.record.eventId, item);
    const fresh = await unmarked([...byId.values()]);
    if (fresh.length === 0) return;
    const { todo, locked } = await lockOrWait(fresh, batch);
    try {
      const result = await withRetries('persisting a batch', batch, () => persistBatch(deps.db, todo));
      log.debug({ inserted: result.inserted.length, duplicates: result.duplicates.length }, 'batch persisted');
      // A long batch must not cost the consumer its group membership before the offsets commit.
      await batch.heartbeat().catch(() => {});
      if (result.deliveriesCreated > 0) await deps.status.wakeDeliveryWorkers();
      const inserted = new Set(result.inserted);
      await deps.status.eventsReceived(
        todo
          .filter((item) => inserted.has(item.record.eventId))
          .map(({ record }) => ({
            eventId: record.eventId,
            integrationId: record.integrationId,
            provider: record.provider,
            eventType: record.eventType,
            receivedAt: record.receivedAt.toISOString(),
          })),
      );
      // Markers after commit: a marker never claims an event the database does not have.
      const stored = [...result.inserted, ...result.duplicates];
      await optional('marker writes', stored, () => coordination.setMarkers(stored, MARKER_TTL_SECONDS), undefined);
    } finally {
      await optional('lock releases', locked, () => coordination.releaseLocks(locked, owner), undefined);
    }
  }

  return {
    start: () => deps.consumer.start(handleBatch),
    async stop() {
      stopping = true;
      await deps.consumer.stop();
    },
  };
}
