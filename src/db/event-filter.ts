import { eq, gte, lt, sql, type SQL } from 'drizzle-orm';
import { events } from './schema.js';

export const EVENT_STATUSES = ['RECEIVED', 'DELIVERING', 'DELIVERED', 'FAILED'] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

/** A validated event filter: used by the events list and by bulk replay (stored with the request). */
export interface EventFilterValue {
  provider?: string | null;
  integrationId?: string | null;
  eventType?: string | null;
  status?: EventStatus | null;
  eventKey?: string | null;
  receivedAfter?: Date | null;
  receivedBefore?: Date | null;
}

/**
 * An event's processing status, from the latest delivery to each destination (a successful
 * replay supersedes an earlier failure): no deliveries → RECEIVED; any in progress → DELIVERING;
 * any failed or cancelled → FAILED; else DELIVERED.
 */
// The outer column is spelled out: drizzle leaves single-table columns unqualified, and an
// unqualified "id" here would mean the delivery's own id.
export const eventStatusSql = sql<string>`(
  select case
    when count(*) = 0 then 'RECEIVED'
    when bool_or(latest.status in ('PENDING', 'RETRYING', 'IN_FLIGHT')) then 'DELIVERING'
    when bool_or(latest.status in ('FAILED', 'CANCELLED')) then 'FAILED'
    else 'DELIVERED' end
  from (
    select distinct on (d.destination_id) d.status
    from deliveries d where d.event_id = "events"."id"
    order by d.destination_id, d.sequence desc
  ) latest)`;

export function eventFilterConditions(filter: EventFilterValue | null | undefined): SQL[] {
  const conditions: SQL[] = [];
  if (!filter) return conditions;
  // Provider and integration are one-to-one: the integration's index serves both filters.
  if (filter.provider) conditions.push(sql`${events.integrationId} = (select i.id from integrations i where i.provider = ${filter.provider})`);
  if (filter.integrationId) conditions.push(eq(events.integrationId, filter.integrationId));
  if (filter.eventType) conditions.push(eq(events.eventType, filter.eventType));
  if (filter.eventKey) conditions.push(eq(events.eventKey, filter.eventKey));
  if (filter.receivedAfter) conditions.push(gte(events.receivedAt, filter.receivedAfter));
  if (filter.receivedBefore) conditions.push(lt(events.receivedAt, filter.receivedBefore));
  if (filter.status) conditions.push(sql`${eventStatusSql} = ${filter.status}`);
  return conditions;
}
