import { randomUUID } from 'node:crypto';
import type { Database } from '../db/client.js';
import { failureCodeOf, failureKindOf } from '../db/failure-kind.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Coordination } from '../ports/coordination.js';
import { partitionKeyOf, type DeadLetter, type EventLogBatch, type EventLogConsumer, type LoggedRecord } from '../ports/event-log.js';
import { encodeIngressRecord } from '../ports/ingress-codec.js';
import { createDependencyState, type DependencyState } from './dependency-state.js';
import { persistBatch, recordDeadLetters, type PersistResult } from './persist-batch.js';
import type { StatusPublisher } from './status-events.js';

const MARKER_TTL_SECONDS = 7 * 24 * 3600;
const LOCK_TTL_MS = 60_000;
// Short: a lock whose holder died (SIGKILL) would otherwise delay its successor's partitions; the
// unique key decides anyway, so waiting only saves a little duplicate work.
const LOCK_WAIT_MS = 1_000;

export interface PersistConsumerDeps {
  consumer: EventLogConsumer;
  db: Database;
  coordination: Coordination;
  status: Pick<StatusPublisher, 'wakeDeliveryWorkers' | 'eventsReceived'>;
  log: Logger;
  /** Backoff between attempts while a dependency is unavailable. */
  retryDelayMs?: (attempt: number) => number;
  metrics?: Pick<Metrics, 'persistBatchSize' | 'persistBatchSeconds' | 'persistEvents' | 'persistDeadLettered'>;
}

interface Outcome extends PersistResult {
  deadLettered: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const nothing = (): Outcome => ({ inserted: [], duplicates: [], deliveriesCreated: 0, deadLettered: 0 });
const merge = (a: Outcome, b: Outcome): Outcome => ({
  inserted: [...a.inserted, ...b.inserted],
  duplicates: [...a.duplicates, ...b.duplicates],
  deliveriesCreated: a.deliveriesCreated + b.deliveriesCreated,
  deadLettered: a.deadLettered + b.deadLettered,
});

/**
 * The persist step: event log batch → Postgres, exactly once, and no record can stop its partition
 * (DESIGN.md §2, §3). Failures are classified (see failure-kind.ts): a data error isolates the
 * record that causes it — the batch is split until it is alone — and dead-letters it, while the
 * rest is stored; an availability error pauses and retries with backoff, logged once when the
 * dependency goes and once when it returns. Redis markers and locks only save work; without Redis
 * every record goes to Postgres, whose unique key decides.
 */
export function createPersistConsumer(deps: PersistConsumerDeps) {
  const { log, coordination } = deps;
  const owner = `persist-${randomUUID()}`;
  const retryDelayMs = deps.retryDelayMs ?? ((attempt: number) => Math.min(100 * 2 ** attempt, 5000));
  const database = createDependencyState(log, 'database', 'persisting paused; retrying with backoff');
  const eventLog = createDependencyState(log, 'event log', 'dead-lettering paused; retrying with backoff');
  const redis = createDependencyState(log, 'redis', 'markers and locks skipped; the database alone decides');
  let stopping = false;
  let started = false;

  /** Runs until the dependency answers; a data error (the record's own fault) goes to the caller. */
  async function untilAvailable<T>(dependency: DependencyState, batch: EventLogBatch, run: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const seen = dependency.attempt();
      try {
        const value = await run();
        dependency.available();
        return value;
      } catch (error) {
        if (stopping || failureKindOf(error) === 'data') throw error;
        // Never skip: nothing past this batch is committed meanwhile.
        dependency.unavailable(error, seen);
        await sleep(retryDelayMs(attempt));
        await batch.heartbeat().catch(() => {});
      }
    }
  }

  /** Redis is an optimisation here: on any failure, fall back to what the database alone would do. */
  async function optional<T>(run: () => Promise<T>, fallback: T): Promise<T> {
    const seen = redis.attempt();
    try {
      const value = await run();
      redis.available();
      return value;
    } catch (error) {
      redis.unavailable(error, seen);
      return fallback;
    }
  }

  async function deadLetter(batch: EventLogBatch, letters: DeadLetter[], notes: Parameters<typeof recordDeadLetters>[1]): Promise<void> {
    await untilAvailable(eventLog, batch, () => deps.consumer.deadLetter(letters));
    await untilAvailable(database, batch, () => recordDeadLetters(deps.db, notes));
  }

  /** Stores `records`, isolating and dead-lettering any the database refuses; order is kept. */
  async function store(records: LoggedRecord[], batch: EventLogBatch): Promise<Outcome> {
    if (records.length === 0) return nothing();
    try {
      return { ...(await untilAvailable(database, batch, () => persistBatch(deps.db, records))), deadLettered: 0 };
    } catch (error) {
      if (stopping || failureKindOf(error) !== 'data') throw error;
      if (records.length > 1) {
        const middle = Math.ceil(records.length / 2);
        const first = await store(records.slice(0, middle), batch);
        return merge(first, await store(records.slice(middle), batch));
      }
    }
    // Alone and refused. The raw body is the record and the jsonb payload only a view of it: try once without the view.
    const [item] = records as [LoggedRecord];
    try {
      return { ...(await untilAvailable(database, batch, () => persistBatch(deps.db, records, { withoutPayload: true }))), deadLettered: 0 };
    } catch (error) {
      if (stopping || failureKindOf(error) !== 'data') throw error;
      const code = failureCodeOf(error);
      const reason = `the database refused the record (SQLSTATE ${code})`;
      const { record, partition, offset } = item;
      // Identifiers and the error code only: the body and the statement's parameters never reach a log.
      log.warn({ partition, offset, eventId: record.eventId, provider: record.provider, code }, 'record refused by the database; dead-lettered');
      const key = Buffer.from(partitionKeyOf(record), 'utf8');
      await deadLetter(
        batch,
        [{ partition, offset, key, value: record.rawBody, reason, headers: encodeIngressRecord(record).headers }],
        [{ partition, offset, key, reason, eventId: record.eventId, provider: record.provider }],
      );
      return { ...nothing(), deadLettered: 1 };
    }
  }

  /**
   * Claims what it can in one Redis call; waits a little for events another consumer is storing
   * right now. Returns the records to store (in batch order) and the locks to release.
   */
  async function claim(records: LoggedRecord[], batch: EventLogBatch): Promise<{ todo: LoggedRecord[]; locked: string[] }> {
    const ids = records.map((item) => item.record.eventId);
    const states = await optional(() => coordination.claimForStorage(ids, owner, LOCK_TTL_MS), null);
    if (states === null) return { todo: records, locked: [] };
    const chosen = new Set<string>();
    const locked: string[] = [];
    /** Takes what was claimed; returns what another consumer is storing right now. */
    const sort = (asked: readonly string[], answers: readonly string[]): string[] => {
      const busy: string[] = [];
      answers.forEach((state, index) => {
        const id = asked[index]!;
        if (state === 'claimed') {
          chosen.add(id);
          locked.push(id);
        } else if (state === 'busy') busy.push(id);
      });
      return busy;
    };
    let busy = sort(ids, states);
    const deadline = Date.now() + LOCK_WAIT_MS;
    while (busy.length > 0 && Date.now() < deadline) {
      await sleep(100);
      await batch.heartbeat().catch(() => {});
      const again = await optional(() => coordination.claimForStorage(busy, owner, LOCK_TTL_MS), null);
      if (again === null) break;
      busy = sort(busy, again);
    }
    // Still held after the wait: the other holder died or is slow. Postgres decides.
    for (const id of busy) chosen.add(id);
    return { todo: records.filter((item) => chosen.has(item.record.eventId)), locked };
  }

  async function handleBatch(batch: EventLogBatch): Promise<void> {
    const timer = deps.metrics?.persistBatchSeconds.startTimer();
    await persistOne(batch);
    timer?.();
  }

  async function persistOne(batch: EventLogBatch): Promise<void> {
    deps.metrics?.persistBatchSize.observe(batch.records.length + batch.undecodable.length);
    if (batch.undecodable.length > 0) {
      deps.metrics?.persistDeadLettered.inc(batch.undecodable.length);
      for (const item of batch.undecodable) log.warn({ partition: item.partition, offset: item.offset, reason: item.reason }, 'undecodable message dead-lettered');
      await deadLetter(batch, batch.undecodable, batch.undecodable);
    }
    // A provider's quick retry can put one event in a batch twice; lock and store it once.
    const byId = new Map<string, LoggedRecord>();
    for (const item of batch.records) if (!byId.has(item.record.eventId)) byId.set(item.record.eventId, item);
    if (byId.size === 0) return;
    const { todo, locked } = await claim([...byId.values()], batch);
    let result: Outcome;
    try {
      result = await store(todo, batch);
    } catch (error) {
      await optional(() => coordination.settleClaims([], locked, owner, MARKER_TTL_SECONDS), undefined);
      throw error;
    }
    log.debug({ inserted: result.inserted.length, duplicates: result.duplicates.length, deadLettered: result.deadLettered }, 'batch persisted');
    deps.metrics?.persistEvents.inc({ result: 'inserted' }, result.inserted.length);
    deps.metrics?.persistEvents.inc({ result: 'duplicate' }, result.duplicates.length);
    deps.metrics?.persistDeadLettered.inc(result.deadLettered);
    // A long batch must not cost the consumer its group membership before the offsets commit.
    await batch.heartbeat().catch(() => {});
    const inserted = new Set(result.inserted);
    // Issued together, so the Redis client sends them in one write.
    await Promise.all([
      result.deliveriesCreated > 0 ? deps.status.wakeDeliveryWorkers() : undefined,
      deps.status.eventsReceived(
        todo
          .filter((item) => inserted.has(item.record.eventId))
          .map(({ record }) => ({
            eventId: record.eventId,
            integrationId: record.integrationId,
            provider: record.provider,
            eventType: record.eventType,
            receivedAt: record.receivedAt.toISOString(),
          })),
      ),
      // Markers after commit: a marker never claims an event the database does not have.
      optional(() => coordination.settleClaims([...result.inserted, ...result.duplicates], locked, owner, MARKER_TTL_SECONDS), undefined),
    ]);
  }

  return {
    async start() {
      stopping = false;
      await deps.consumer.start(handleBatch);
      started = true;
    },
    async stop() {
      stopping = true;
      started = false;
      await deps.consumer.stop();
    },
    /** Started and not stopped: what readiness reports for this process's consumer. */
    running: () => started && !stopping,
  };
}
