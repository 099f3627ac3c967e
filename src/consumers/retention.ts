import { sql } from 'drizzle-orm';
import { rowsOf, type Database } from '../db/client.js';
import type { Logger } from '../log.js';

/**
 * Retention (issue 12): a stored body (raw body, payload, headers) lives RETENTION_DAYS; the event
 * row, its deliveries and their attempts live METADATA_RETENTION_DAYS. The purge works in small
 * batches, each its own short transaction, so it never holds locks that ingest or paging wait
 * on for long; it skips events that still have a delivery in progress. Each run that purged
 * something leaves one audit entry with its counts. Several instances may run it: a
 * transaction-level advisory lock lets one batch at a time proceed.
 */
export interface RetentionSettings {
  bodyDays?: number | undefined;
  metadataDays?: number | undefined;
  batchSize: number;
  intervalMs: number;
}

export interface PurgeReport {
  bodies: number;
  events: number;
  deliveries: number;
  attempts: number;
}

const PURGE_LOCK = 727275;
const DAY_MS = 86_400_000;

async function purgeBodyBatch(db: Database, cutoff: Date, limit: number): Promise<number | undefined> {
  return db.transaction(async (tx) => {
    const [lock] = rowsOf<{ locked: boolean }>(await tx.execute(sql`select pg_try_advisory_xact_lock(${PURGE_LOCK}) as locked`));
    if (!lock?.locked) return undefined;
    const purged = rowsOf<{ id: string }>(
      await tx.execute(sql`
        update events set raw_body = ''::bytea, payload = 'null'::jsonb, headers = '{}'::jsonb, body_purged_at = now()
        where id in (
          select e.id from events e
          where e.body_purged_at is null and e.received_at < ${cutoff.toISOString()}::timestamptz
            and not exists (select 1 from deliveries d where d.event_id = e.id and d.status in ('PENDING', 'IN_FLIGHT'))
          order by e.received_at
          limit ${limit}
          for update skip locked
        )
        returning id`),
    );
    return purged.length;
  });
}

async function purgeMetadataBatch(db: Database, cutoff: Date, limit: number): Promise<Omit<PurgeReport, 'bodies'> | undefined> {
  return db.transaction(async (tx) => {
    const [lock] = rowsOf<{ locked: boolean }>(await tx.execute(sql`select pg_try_advisory_xact_lock(${PURGE_LOCK}) as locked`));
    if (!lock?.locked) return undefined;
    // Declares this transaction as the retention purge: the attempts trigger lets exactly it delete.
    await tx.execute(sql`select set_config('hookgate.purge_before', ${cutoff.toISOString()}, true)`);
    const ids = rowsOf<{ id: string }>(
      await tx.execute(sql`
        select e.id from events e
        where e.received_at < ${cutoff.toISOString()}::timestamptz
          and not exists (select 1 from deliveries d where d.event_id = e.id and d.status in ('PENDING', 'IN_FLIGHT'))
        order by e.received_at
        limit ${limit}
        for update skip locked`),
    ).map((row) => row.id);
    if (ids.length === 0) return { events: 0, deliveries: 0, attempts: 0 };
    const idList = sql`(${sql.join(ids.map((id) => sql`${id}::uuid`), sql`, `)})`;
    const attempts = rowsOf(
      await tx.execute(sql`delete from delivery_attempts where delivery_id in (select id from deliveries where event_id in ${idList}) returning 1`),
    ).length;
    const deliveries = rowsOf(await tx.execute(sql`delete from deliveries where event_id in ${idList} returning 1`)).length;
    await tx.execute(sql`delete from replay_requests where event_id in ${idList} and not exists (select 1 from deliveries d where d.replay_request_id = replay_requests.id)`);
    const events = rowsOf(await tx.execute(sql`delete from events where id in ${idList} returning 1`)).length;
    return { events, deliveries, attempts };
  });
}

/** One purge run: batches until nothing older than the cutoffs is left (or another instance holds the lock). */
export async function purgeExpired(db: Database, settings: RetentionSettings, now = new Date()): Promise<PurgeReport> {
  const report: PurgeReport = { bodies: 0, events: 0, deliveries: 0, attempts: 0 };
  if (settings.metadataDays) {
    const cutoff = new Date(now.getTime() - settings.metadataDays * DAY_MS);
    for (;;) {
      const batch = await purgeMetadataBatch(db, cutoff, settings.batchSize);
      if (!batch) break;
      report.events += batch.events;
      report.deliveries += batch.deliveries;
      report.attempts += batch.attempts;
      if (batch.events < settings.batchSize) break;
    }
  }
  if (settings.bodyDays) {
    const cutoff = new Date(now.getTime() - settings.bodyDays * DAY_MS);
    for (;;) {
      const purged = await purgeBodyBatch(db, cutoff, settings.batchSize);
      if (purged === undefined) break;
      report.bodies += purged;
      if (purged < settings.batchSize) break;
    }
  }
  const total = report.bodies + report.events;
  if (total > 0) {
    await db.execute(sql`
      insert into audit_entries (actor, action, target_type, target_id, details)
      values ('system:retention', 'retention.purged', 'events', null, ${JSON.stringify({
        ...report,
        bodyRetentionDays: settings.bodyDays ?? null,
        metadataRetentionDays: settings.metadataDays ?? null,
      })}::jsonb)`);
  }
  return report;
}

export function createRetentionJob(deps: { db: Database; log: Logger; settings: RetentionSettings }) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let failing = false;
  const run = () => {
    running ??= purgeExpired(deps.db, deps.settings)
      .then((report) => {
        if (failing) deps.log.info({}, 'retention purge works again');
        failing = false;
        if (report.bodies + report.events > 0) deps.log.info({ ...report }, 'retention purge');
      })
      .catch((error: unknown) => {
        // One line per change of state (STYLE.md §14); the next run tries again.
        if (!failing) deps.log.warn({ err: error }, 'retention purge failed; retrying at the next run');
        failing = true;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  return {
    enabled: Boolean(deps.settings.bodyDays || deps.settings.metadataDays),
    async start() {
      if (!this.enabled) return;
      timer = setInterval(() => void run(), deps.settings.intervalMs);
      timer.unref();
      void run();
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
    run,
  };
}
