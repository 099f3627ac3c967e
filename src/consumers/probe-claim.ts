import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { claimedFrom, executeHot, takeLeases, type ClaimedDelivery, type ClaimRow } from './delivery-store.js';

/**
 * The probes of parked destinations whose next probe is due (DESIGN.md §2 "park and drain"): for
 * each, the schedule moves on (doubling from `baseMs` up to `maxMs`) and its earliest waiting
 * delivery is claimed, exactly as a claim would, marked as a probe. The destination row is locked
 * (SKIP LOCKED) for the move, so one worker among many sends a given probe.
 */
export function probeStatement(workerId: string, leaseMs: number, baseMs: number, maxMs: number): SQL {
  return sql`
    with due as (
      select t.id from destinations t
      where t.parked_at is not null and t.enabled and t.next_probe_at <= now()
      order by t.next_probe_at
      limit 20
      for update skip locked
    ), probed as (
      update destinations t
      set next_probe_at = now() + least(${baseMs}::float8 * power(2, least(t.probe_count, 30)), ${maxMs}::float8) * interval '1 millisecond',
          probe_count = t.probe_count + 1
      from due where t.id = due.id
      returning t.id
    ), head as (
      select (
        select d.id from deliveries d
        where d.destination_id = probed.id and d.status in ('PENDING', 'RETRYING')
        order by d.sequence
        limit 1
      ) as id
      from probed
    ), picked as (
      select d.id, d.status as previous_status from deliveries d join head on head.id = d.id
      where d.status in ('PENDING', 'RETRYING')
      for update of d skip locked
    ), ${takeLeases('picked', true, workerId, leaseMs)}`;
}

/** Claims the due probes of parked destinations (at most one each). */
export async function claimDueProbes(db: Database, workerId: string, leaseMs: number, schedule: { baseMs: number; maxMs: number }): Promise<ClaimedDelivery[]> {
  return (await executeHot<ClaimRow>(db, probeStatement(workerId, leaseMs, schedule.baseMs, schedule.maxMs))).map(claimedFrom);
}
