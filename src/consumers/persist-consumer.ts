import type { Database } from '../db/client.js';
import type { Logger } from '../log.js';
import type { Coordination } from '../ports/coordination.js';
import type { EventLogBatch, EventLogConsumer } from '../ports/event-log.js';
import { persistBatch } from './persist-batch.js';

const MARKER_TTL_SECONDS = 7 * 24 * 3600;

export interface PersistConsumerDeps {
  consumer: EventLogConsumer;
  db: Database;
  coordination: Coordination;
  log: Logger;
  /** Backoff between attempts at a batch that failed for a transient reason. */
  retryDelayMs?: (attempt: number) => number;
}

/**
 * The persist step: Kafka batch → Postgres, exactly once. Redis markers only save work;
 * when Redis is unavailable every record goes to Postgres, whose unique key decides.
 */
export function createPersistConsumer(deps: PersistConsumerDeps) {
  const { log, coordination } = deps;
  const retryDelayMs = deps.retryDelayMs ?? ((attempt: number) => Math.min(100 * 2 ** attempt, 5000));
  let stopping = false;

  async function unmarked(batch: EventLogBatch) {
    try {
      const known = await coordination.markersExist(batch.records.map((item) => item.record.eventId));
      return batch.records.filter((_, index) => !known[index]);
    } catch (error) {
      log.warn({ err: (error as Error).message }, 'markers unavailable; relying on the database alone');
      return batch.records;
    }
  }

  async function handleBatch(batch: EventLogBatch): Promise<void> {
    for (const item of batch.undecodable) {
      // The dead-letter topic arrives with the consumers issue; until then the message is logged and skipped.
      log.error({ partition: item.partition, offset: item.offset, reason: item.reason }, 'undecodable ingress message');
    }
    const fresh = await unmarked(batch);
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await persistBatch(deps.db, fresh);
        log.debug({ inserted: result.inserted.length, duplicates: result.duplicates.length }, 'batch persisted');
        // Markers after commit: a marker never claims an event the database does not have.
        await coordination
          .setMarkers([...result.inserted, ...result.duplicates], MARKER_TTL_SECONDS)
          .catch((error: Error) => log.warn({ err: error.message }, 'could not set markers'));
        return;
      } catch (error) {
        if (stopping) throw error;
        // Never skip: the batch is retried until it commits; nothing past it is committed meanwhile.
        log.error({ attempt, err: (error as Error).message }, 'persisting a batch failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs(attempt)));
        await batch.heartbeat().catch(() => {});
      }
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
