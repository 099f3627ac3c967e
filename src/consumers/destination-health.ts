import { sql } from 'drizzle-orm';
import { rowsOf, type Database } from '../db/client.js';

/**
 * Park and drain (DESIGN.md §2, issue 14). A destination that keeps failing is parked: its waiting
 * deliveries leave the due range (`next_attempt_at = 'infinity'`, so claims never read them) and
 * only a probe goes out on a backoff schedule (`probeStatement`). Any success unparks it: its
 * waiting deliveries come back due at their creation time, so the backlog drains in order, and the
 * workers' adaptive concurrency starts it at one (a ramp). Every step is an audit entry and a
 * live event; the state lives in Postgres, so every worker and API instance agrees on it.
 */
export type HealthChangeKind = 'PARKED' | 'UNPARKED' | 'PROBE_FAILED' | 'DISABLED';

export interface HealthChange {
  destinationId: string;
  integrationId: string;
  change: HealthChangeKind;
  reason: string;
}

/** One group of recorded attempts, summed per destination in the order they finished. */
export interface DestinationOutcome {
  destinationId: string;
  attempts: number;
  failures: number;
  /** Failures after the group's last success (all of them when none succeeded). */
  trailingFailures: number;
  succeeded: boolean;
  /** The group held a probe of a parked destination. */
  probed: boolean;
  /** The longest Retry-After pause the group asked for (0: none). */
  pauseMs: number;
}

/** Folds a group's attempt outcomes (in finishing order) into one line per destination. */
export function summariseOutcomes(outcomes: readonly { destinationId: string; ok: boolean; probe: boolean; pauseMs: number }[]): DestinationOutcome[] {
  const byDestination = new Map<string, DestinationOutcome>();
  for (const { destinationId, ok, probe, pauseMs } of outcomes) {
    const line = byDestination.get(destinationId) ?? { destinationId, attempts: 0, failures: 0, trailingFailures: 0, succeeded: false, probed: false, pauseMs: 0 };
    line.attempts += 1;
    line.probed ||= probe;
    line.pauseMs = Math.max(line.pauseMs, pauseMs);
    if (ok) {
      line.succeeded = true;
      line.trailingFailures = 0;
    } else {
      line.failures += 1;
      line.trailingFailures += 1;
    }
    byDestination.set(destinationId, line);
  }
  return [...byDestination.values()];
}

/**
 * Brings a parked backlog back into the due range in sequence order: due from the oldest one's
 * creation time, one microsecond apart, so claims (which read in due order) drain it in order —
 * including those that finished an attempt while parked (due at their own retry time otherwise).
 * `$TARGETS` is replaced by a fixed subquery of destination ids.
 */
export const DRAIN_ORDER_UPDATE = `
  update deliveries q set next_attempt_at = o.due
  from (
    select w.id,
           min(w.created_at) over (partition by w.destination_id)
             + (row_number() over (partition by w.destination_id order by w.sequence)) * interval '1 microsecond' as due
    from deliveries w
    where w.destination_id in $TARGETS and w.status in ('PENDING', 'RETRYING')
  ) o
  where q.id = o.id
  returning 1`;

/** A ratio needs this many attempts in its window before it can park a destination. */
const RATIO_MIN_ATTEMPTS = 20;

/**
 * Counts a group's outcomes into each destination's failure state and decides, in the same
 * statement (rows locked, so concurrent workers add up): park (N consecutive failures, or the
 * failure ratio over the window), unpark (a success while parked), or a failed probe. Moves the
 * waiting deliveries of parked and unparked destinations, and writes the audit entries.
 * Fixed text; the group travels as one JSON parameter.
 */
const OUTCOMES_STATEMENT = `
with input as (
  select * from json_to_recordset($1::json) as t(destination_id uuid, attempts integer, failures integer,
    trailing_failures integer, succeeded boolean, probed boolean, pause_ms integer)
), locked as (
  select t.id, t.integration_id, t.enabled, t.parked_at, t.park_after_failures, t.park_failure_ratio,
         case when i.succeeded then i.trailing_failures else t.consecutive_failures + i.trailing_failures end as consecutive,
         (t.window_started_at is null or t.window_started_at <= now() - t.park_window_seconds * interval '1 second') as fresh_window,
         t.window_started_at, t.window_attempts, t.window_failures, t.paused_until, i.attempts, i.failures, i.succeeded, i.probed, i.pause_ms
  from destinations t join input i on i.destination_id = t.id
  order by t.id
  for update of t
), counted as (
  select l.*,
         case when l.fresh_window then now() else l.window_started_at end as w_start,
         case when l.fresh_window then l.attempts else l.window_attempts + l.attempts end as w_attempts,
         case when l.fresh_window then l.failures else l.window_failures + l.failures end as w_failures
  from locked l
), decided as (
  select c.*,
         case
           when c.parked_at is not null and c.succeeded then 'UNPARKED'
           when c.parked_at is null and c.enabled and c.consecutive >= c.park_after_failures then 'PARKED'
           when c.parked_at is null and c.enabled and c.w_attempts >= ${RATIO_MIN_ATTEMPTS}
                and c.w_failures >= c.park_failure_ratio * c.w_attempts then 'PARKED'
           when c.parked_at is not null and c.probed then 'PROBE_FAILED'
         end as change,
         case
           when c.parked_at is not null and c.succeeded then 'a delivery succeeded'
           when c.consecutive >= c.park_after_failures then c.consecutive || ' consecutive failed attempts'
           when c.parked_at is null then c.w_failures || ' of ' || c.w_attempts || ' attempts failed in the window'
           else 'the probe failed'
         end as reason
  from counted c
), updated as (
  update destinations t
  set consecutive_failures = case when d.change = 'UNPARKED' then 0 else d.consecutive end,
      window_started_at = case when d.change in ('PARKED', 'UNPARKED') then null else d.w_start end,
      window_attempts = case when d.change in ('PARKED', 'UNPARKED') then 0 else d.w_attempts end,
      window_failures = case when d.change in ('PARKED', 'UNPARKED') then 0 else d.w_failures end,
      parked_at = case d.change when 'PARKED' then now() when 'UNPARKED' then null else t.parked_at end,
      parked_reason = case d.change when 'PARKED' then d.reason when 'UNPARKED' then null else t.parked_reason end,
      next_probe_at = case d.change when 'PARKED' then now() + $2::float8 * interval '1 millisecond' when 'UNPARKED' then null else t.next_probe_at end,
      probe_count = case when d.change = 'PARKED' then 0 else t.probe_count end,
      unparked_at = case when d.change = 'UNPARKED' then now() else t.unparked_at end,
      paused_until = case when d.pause_ms > 0
                          then greatest(coalesce(d.paused_until, now()), now() + d.pause_ms * interval '1 millisecond')
                          else d.paused_until end,
      updated_at = case when d.change is null then t.updated_at else now() end
  from decided d
  where t.id = d.id
  returning t.id
), held_back as (
  update deliveries q set next_attempt_at = 'infinity'
  from decided d
  where q.destination_id = d.id and d.change = 'PARKED' and q.status in ('PENDING', 'RETRYING')
  returning 1
), drained as (
  ${DRAIN_ORDER_UPDATE.replace('$TARGETS', "(select id from decided where change = 'UNPARKED')")}
), audited as (
  insert into audit_entries (actor, action, target_type, target_id, details)
  select 'system:delivery',
         case d.change when 'PARKED' then 'destination.parked' when 'UNPARKED' then 'destination.unparked' else 'destination.probe_failed' end,
         'destination', d.id::text,
         jsonb_build_object('reason', d.reason, 'probe', d.probed, 'consecutiveFailures', d.consecutive)
  from decided d
  where d.change is not null
  order by d.id
  returning 1
)
select d.id::text as destination_id, d.integration_id::text as integration_id, d.change, d.reason,
       (select count(*) from updated)::int as updated, (select count(*) from held_back)::int as held_back,
       (select count(*) from drained)::int as drained, (select count(*) from audited)::int as audited
from decided d
where d.change is not null
`;

type Row = { destination_id: string; integration_id: string; change: HealthChangeKind; reason: string };

function isPglite(client: unknown): client is { query<T>(text: string, params: unknown[]): Promise<{ rows: T[] }> } {
  return typeof client === 'object' && client !== null && 'query' in client && 'exec' in client;
}

async function runFixed<T>(db: Database, text: string, params: unknown[]): Promise<T[]> {
  const client = (db as unknown as { $client: unknown }).$client;
  if (isPglite(client)) return (await client.query<T>(text, params)).rows;
  const unsafe = (client as { unsafe(text: string, params: unknown[], options: { prepare: boolean }): Promise<unknown> }).unsafe;
  return rowsOf<T>(await unsafe.call(client, text, params, { prepare: true }));
}

export async function recordDestinationOutcomes(db: Database, outcomes: readonly DestinationOutcome[], firstProbeInMs: number): Promise<HealthChange[]> {
  if (outcomes.length === 0) return [];
  const input = JSON.stringify(
    outcomes.map((o) => ({
      destination_id: o.destinationId,
      attempts: o.attempts,
      failures: o.failures,
      trailing_failures: o.trailingFailures,
      succeeded: o.succeeded,
      probed: o.probed,
      pause_ms: o.pauseMs,
    })),
  );
  const rows = await runFixed<Row>(db, OUTCOMES_STATEMENT, [input, firstProbeInMs]);
  return rows.map((row) => ({ destinationId: row.destination_id, integrationId: row.integration_id, change: row.change, reason: row.reason }));
}

/**
 * Disables destinations parked longer than their limit (default 5 days), never silently: an audit
 * entry and a live event each. Their waiting deliveries come back due, to be cancelled by the next
 * claim like any disabled destination's.
 */
export async function disableLongParked(db: Database): Promise<HealthChange[]> {
  const rows = rowsOf<Row>(
    await db.execute(sql`
      with expired as (
        update destinations t
        set enabled = false, disabled_at = now(), updated_at = now(),
            disabled_reason = 'parked for longer than ' || t.disable_after_parked_seconds || ' s',
            parked_at = null, parked_reason = null, next_probe_at = null
        where t.parked_at is not null and t.enabled
          and t.parked_at <= now() - t.disable_after_parked_seconds * interval '1 second'
        returning t.id, t.integration_id, t.disabled_reason
      ), moved as (
        update deliveries q set next_attempt_at = now()
        from expired x
        where q.destination_id = x.id and q.status in ('PENDING', 'RETRYING') and q.next_attempt_at = 'infinity'
        returning 1
      ), audited as (
        insert into audit_entries (actor, action, target_type, target_id, details)
        select 'system:delivery', 'destination.disabled', 'destination', x.id::text, jsonb_build_object('reason', x.disabled_reason)
        from expired x
        returning 1
      )
      select x.id::text as destination_id, x.integration_id::text as integration_id, 'DISABLED' as change, x.disabled_reason as reason,
             (select count(*) from moved)::int as moved, (select count(*) from audited)::int as audited
      from expired x`),
  );
  return rows.map((row) => ({ destinationId: row.destination_id, integrationId: row.integration_id, change: 'DISABLED', reason: row.reason }));
}
