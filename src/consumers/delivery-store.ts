import { and, eq, sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { rowsOf, type Database } from '../db/client.js';
import { auditEntries, destinations } from '../db/schema.js';
import { currentKeyring } from '../secrets/secret-box.js';
import { releaseParkedDeliveries } from './parked-deliveries.js';

export type DeliveryStatus = 'PENDING' | 'IN_FLIGHT' | 'RETRYING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

/** A claimed delivery with everything its attempt needs: the claim statement returns it all. */
export interface ClaimedDelivery {
  id: string;
  eventId: string;
  destinationId: string;
  integrationId: string;
  previousStatus: DeliveryStatus;
  /** The claim's fence: completions and releases apply only while the row still has this number. */
  attemptNumber: number;
  trigger: 'DISPATCH' | 'RETRY' | 'REPLAY';
  rawBody: Buffer;
  url: string;
  secret: string;
  /** The replaced secret while its rotation grace period lasts: deliveries carry both signatures. */
  previousSecret: string | null;
  /** Static headers of the destination (write-only: never recorded, never logged). */
  staticHeaders: { name: string; value: string }[];
  maxPerSecond: number | null;
  maxConcurrency: number | null;
  destinationEnabled: boolean;
  /** Claimed as the single probe of a parked destination. */
  probe: boolean;
}

export interface ClaimRow extends Record<string, unknown> {
  id: string;
  event_id: string;
  destination_id: string;
  integration_id: string;
  previous_status: DeliveryStatus;
  attempt_count: number;
  trigger: 'DISPATCH' | 'RETRY' | 'REPLAY';
  raw_body: Buffer | Uint8Array;
  url: string;
  secret: string;
  previous_secret: string | null;
  headers: string | null;
  max_per_second: number | null;
  max_concurrency: number | null;
  destination_enabled: boolean;
  probe: boolean;
}

/**
 * The claim, as one statement. The lease lives in `next_attempt_at` (set to the lease's end), so a
 * leased row leaves the due range of `deliveries_due_idx` and comes back into it by itself when
 * the lease runs out: "due" is one range condition on one index, read in index order and stopped
 * after `limit` rows, however large the backlog. There is no second branch for expired leases
 * (a UNION ALL of "due" and "expired" has two scans that can each meet the same row in a different
 * version during one statement); here a row another worker claimed meanwhile fails the re-check of
 * `next_attempt_at <= now()` when it is locked, and is skipped.
 *
 * For ordered destinations a delivery waits while an earlier one for its key is unfinished (in the
 * due range or not): one at a time, in order. Those waiting rows are read and filtered, so a long
 * queue behind one key costs its length per claim until its head is done.
 *
 * Destination policies (issue 14): a parked destination's deliveries wait (only its probe, claimed
 * by `probeStatement`, goes out; its waiting rows are moved out of the due range, see
 * destination-health.ts), a paused one (Retry-After) waits until the pause ends, and `excluded`
 * names destinations this worker cannot start more for right now (throttled or at their adaptive
 * concurrency): their rows stay for other destinations' work to pass, which is what keeps one slow
 * destination from holding up the others.
 */
export function claimStatement(workerId: string, limit: number, leaseMs: number, excluded: readonly string[] = []): SQL {
  // The limit is written into the text (an integer we computed, never outside input): with
  // `limit $n` Postgres plans a prepared statement's generic plan for an unknown, large limit and
  // keeps re-planning; with a literal each claim size gets one cached plan, the one tested below.
  const claimSize = Math.max(1, Math.floor(limit));
  return sql`
    with due as (
      select d.id, d.status as previous_status
      from deliveries d
      where d.status in ('PENDING', 'RETRYING', 'IN_FLIGHT')
        and d.next_attempt_at <= now()
        and (d.ordering_key is null or not exists (
          select 1 from deliveries prior
          where prior.destination_id = d.destination_id
            and prior.ordering_key = d.ordering_key
            and prior.status in ('PENDING', 'RETRYING', 'IN_FLIGHT')
            and prior.sequence < d.sequence))
        and not exists (
          select 1 from destinations held
          where held.id = d.destination_id and (held.parked_at is not null or held.paused_until > now()))
        and d.destination_id <> all(${uuidArrayLiteral(excluded)}::uuid[])
      order by d.next_attempt_at
      limit ${sql.raw(String(claimSize))}
      for update of d skip locked
    ), ${takeLeases('due', false, workerId, leaseMs)}`;
}

/**
 * The tail every claim shares: the rows picked by the CTE `source` (`id`, `previous_status`) take
 * the lease — in flight, the lease moved into their due time, one more attempt — and come back
 * with what their attempt needs. `probe` marks a parked destination's probe (probe-claim.ts).
 */
export function takeLeases(source: 'due' | 'picked', probe: boolean, workerId: string, leaseMs: number): SQL {
  const from = sql.raw(source);
  return sql`claimed as (
      update deliveries d
      set status = 'IN_FLIGHT',
          lease_owner = ${workerId},
          lease_expires_at = now() + ${leaseMs} * interval '1 millisecond',
          next_attempt_at = now() + ${leaseMs} * interval '1 millisecond',
          attempt_count = d.attempt_count + 1,
          updated_at = now()
      from ${from}
      where d.id = ${from}.id
      returning d.id, d.event_id, d.destination_id, d.integration_id, ${from}.previous_status, d.attempt_count, d.trigger
    )
    ${CLAIMED_WORK} ${sql.raw(probe ? 'true' : 'false')} as probe
    from claimed c
    join events e on e.id = c.event_id
    join destinations t on t.id = c.destination_id`;
}

/** What a claimed delivery's attempt needs, from the claimed row `c`, its event `e` and destination `t`. */
export const CLAIMED_WORK = sql.raw(`
    select c.id, c.event_id, c.destination_id, c.integration_id, c.previous_status, c.attempt_count, c.trigger,
           e.raw_body, t.url, t.secret, t.enabled as destination_enabled,
           case when t.previous_secret_expires_at > now() then t.previous_secret end as previous_secret,
           t.headers, t.max_per_second, t.max_concurrency,`);

/** A uuid[] literal for ids we hold (from the database): drizzle would expand a JS array into a list. */
function uuidArrayLiteral(ids: readonly string[]): string {
  return `{${ids.filter((id) => /^[0-9a-f-]{36}$/i.test(id)).join(',')}}`;
}

const dialect = new PgDialect();

type PreparingClient = { unsafe(text: string, params: unknown[], options: { prepare: boolean }): Promise<unknown> };

/**
 * Runs a hot-path statement as a prepared statement where the driver can (postgres.js): drizzle's
 * `execute` sends each as a fresh unnamed statement, planned again every time, and planning the
 * claim costs more than running it. Fixed text, so each connection prepares it once. PGlite runs
 * it through drizzle as before.
 */
export async function executeHot<T>(db: Database, query: SQL): Promise<T[]> {
  const client = (db as { $client?: unknown }).$client;
  if (typeof client === 'function' && typeof (client as Partial<PreparingClient>).unsafe === 'function') {
    const { sql: text, params } = dialect.sqlToQuery(query);
    return rowsOf<T>(await (client as unknown as PreparingClient).unsafe(text, params, { prepare: true }));
  }
  return rowsOf<T>(await db.execute(query));
}

/** Claims up to `limit` due deliveries for `workerId` until the lease ends, with their work. */
export async function claimDueDeliveries(
  db: Database,
  workerId: string,
  limit: number,
  leaseMs: number,
  excluded: readonly string[] = [],
): Promise<ClaimedDelivery[]> {
  return (await executeHot<ClaimRow>(db, claimStatement(workerId, limit, leaseMs, excluded))).map(claimedFrom);
}

export function claimedFrom(row: ClaimRow): ClaimedDelivery {
  const keyring = currentKeyring();
  return {
    id: row.id,
    eventId: row.event_id,
    destinationId: row.destination_id,
    integrationId: row.integration_id,
    previousStatus: row.previous_status,
    attemptNumber: Number(row.attempt_count),
    trigger: row.trigger,
    // postgres.js hands back a Buffer, PGlite a plain Uint8Array.
    rawBody: Buffer.isBuffer(row.raw_body) ? row.raw_body : Buffer.from(row.raw_body.buffer, row.raw_body.byteOffset, row.raw_body.byteLength),
    url: row.url,
    // Raw SQL reads the columns as stored: sealed at rest (issue 12), opened here.
    secret: keyring.open(row.secret),
    previousSecret: row.previous_secret === null ? null : keyring.open(row.previous_secret),
    staticHeaders: row.headers === null ? [] : (JSON.parse(keyring.open(row.headers)) as { name: string; value: string }[]),
    maxPerSecond: row.max_per_second,
    maxConcurrency: row.max_concurrency,
    destinationEnabled: row.destination_enabled,
    probe: row.probe,
  };
}

export interface AttemptRecord {
  startedAt: Date;
  durationMs: number;
  statusCode: number | null;
  errorClass: string | null;
  errorMessage: string | null;
  responseBody: string | null;
  requestHeaders: Record<string, string>;
}

export interface Completion {
  deliveryId: string;
  attemptNumber: number;
  /** The POST that was made, or null when none was (a disabled destination is cancelled unsent). */
  attempt: AttemptRecord | null;
  status: Exclude<DeliveryStatus, 'PENDING' | 'IN_FLIGHT'>;
  /** For RETRYING: how long from now (the database's clock, like the claim's) until it is due. */
  retryInMs: number | null;
  lastError: string | null;
}

// Text columns cannot hold U+0000; a receiver may answer with anything.
const storable = (text: string | null) => (text === null ? null : text.replaceAll('\u0000', '\uFFFD'));

/**
 * Records a group of finished attempts in one statement: every attempt row (append-only, whether
 * or not the claim still holds: the POST happened), and each delivery's move, fenced by owner AND
 * attempt number so a late completion of an earlier claim (even this worker's own, whose lease ran
 * out and which it claimed again) changes nothing. Returns the ids whose fence held.
 * Fixed text; the group travels as one JSON parameter, which both drivers pass the same way.
 */
export async function completeAttempts(db: Database, workerId: string, completions: readonly Completion[]): Promise<Set<string>> {
  if (completions.length === 0) return new Set();
  const input = JSON.stringify(
    completions.map((completion) => ({
      delivery_id: completion.deliveryId,
      attempt_number: completion.attemptNumber,
      recorded: completion.attempt !== null,
      started_at: completion.attempt?.startedAt.toISOString() ?? null,
      duration_ms: completion.attempt?.durationMs ?? null,
      status_code: completion.attempt?.statusCode ?? null,
      error_class: completion.attempt?.errorClass ?? null,
      error_message: storable(completion.attempt?.errorMessage ?? null),
      response_body: storable(completion.attempt?.responseBody ?? null),
      request_headers: completion.attempt?.requestHeaders ?? null,
      status: completion.status,
      retry_in_ms: completion.retryInMs,
      last_error: storable(completion.lastError),
    })),
  );
  const rows = await executeHot<{ id: string }>(db, sql`
    with input as (
      select * from json_to_recordset(${input}::json) as t(
        delivery_id uuid, attempt_number integer, recorded boolean, started_at timestamptz, duration_ms integer,
        status_code integer, error_class text, error_message text, response_body text, request_headers jsonb,
        status delivery_status, retry_in_ms integer, last_error text)
    ), recorded as (
      insert into delivery_attempts
        (delivery_id, attempt_number, started_at, duration_ms, status_code, error_class, error_message, response_body, request_headers)
      select delivery_id, attempt_number, started_at, duration_ms, status_code, error_class, error_message, response_body,
             coalesce(request_headers, '{}'::jsonb)
      from input where recorded
      on conflict do nothing
    )
    update deliveries d
    set status = i.status,
        next_attempt_at = case when i.status = 'RETRYING' then now() + i.retry_in_ms * interval '1 millisecond' else d.next_attempt_at end,
        last_status_code = i.status_code,
        last_error = i.last_error,
        lease_owner = null,
        lease_expires_at = null,
        updated_at = now(),
        completed_at = case when i.status = 'RETRYING' then null else now() end
    from input i
    where d.id = i.delivery_id
      and d.lease_owner = ${workerId}
      and d.attempt_count = i.attempt_number
      and d.status = 'IN_FLIGHT'
    returning d.id`);
  return new Set(rows.map((row) => row.id));
}

/**
 * Hands back claims whose POST never started (a stopping worker): due again at once, with the
 * attempt number they had before the claim, so the next claim — by any worker — sends them now
 * instead of after the lease. Fenced like a completion. Returns the ids released.
 */
export async function releaseClaims(db: Database, workerId: string, claims: readonly { deliveryId: string; attemptNumber: number }[]): Promise<Set<string>> {
  if (claims.length === 0) return new Set();
  const input = JSON.stringify(claims.map((claim) => ({ delivery_id: claim.deliveryId, attempt_number: claim.attemptNumber })));
  const rows = await executeHot<{ id: string }>(db, sql`
    with input as (
      select * from json_to_recordset(${input}::json) as t(delivery_id uuid, attempt_number integer)
    )
    update deliveries d
    set status = case when d.attempt_count > 1 then 'RETRYING'::delivery_status else 'PENDING'::delivery_status end,
        attempt_count = d.attempt_count - 1,
        lease_owner = null,
        lease_expires_at = null,
        next_attempt_at = now(),
        updated_at = now()
    from input i
    where d.id = i.delivery_id
      and d.lease_owner = ${workerId}
      and d.attempt_count = i.attempt_number
      and d.status = 'IN_FLIGHT'
    returning d.id`);
  return new Set(rows.map((row) => row.id));
}

/** A receiver answered 410 Gone: stop sending to it, and say so in the audit trail. */
export async function disableDestination(db: Database, destinationId: string, reason: string, context: { deliveryId: string }): Promise<boolean> {
  return db.transaction(async (tx) => {
    const changed = await tx
      .update(destinations)
      .set({ enabled: false, disabledReason: reason, disabledAt: new Date(), updatedAt: new Date(), parkedAt: null, parkedReason: null, nextProbeAt: null })
      .where(and(eq(destinations.id, destinationId), eq(destinations.enabled, true)))
      .returning({ id: destinations.id });
    if (changed.length === 0) return false;
    await releaseParkedDeliveries(tx, destinationId, 'now');
    await tx.insert(auditEntries).values({
      actor: 'system:delivery',
      action: 'destination.disabled',
      targetType: 'destination',
      targetId: destinationId,
      details: { reason, deliveryId: context.deliveryId },
    });
    return true;
  });
}
