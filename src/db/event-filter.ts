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
  /** Events whose key starts with this. */
  eventKeyPrefix?: string | null;
  /** Events whose payload contains this JSON (jsonb @>). */
  payloadContains?: unknown;
  receivedAfter?: Date | null;
  receivedBefore?: Date | null;
}

export function eventFilterConditions(filter: EventFilterValue | null | undefined): SQL[] {
  const conditions: SQL[] = [];
  if (!filter) return conditions;
  // Provider and integration are one-to-one: the integration's index serves both filters.
  if (filter.provider) conditions.push(sql`${events.integrationId} = (select i.id from integrations i where i.provider = ${filter.provider})`);
  if (filter.integrationId) conditions.push(eq(events.integrationId, filter.integrationId));
  if (filter.eventType) conditions.push(eq(events.eventType, filter.eventType));
  if (filter.eventKey) conditions.push(eq(events.eventKey, filter.eventKey));
  // LIKE with the prefix's own wildcards escaped: served by events_key_pattern_idx.
  if (filter.eventKeyPrefix) conditions.push(sql`${events.eventKey} like ${`${filter.eventKeyPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`}`);
  // Served by the GIN index events_payload_idx; a payload stored as null never matches.
  if (filter.payloadContains != null) conditions.push(sql`${events.payload} @> ${JSON.stringify(filter.payloadContains)}::jsonb`);
  if (filter.receivedAfter) conditions.push(gte(events.receivedAt, filter.receivedAfter));
  if (filter.receivedBefore) conditions.push(lt(events.receivedAt, filter.receivedBefore));
  // Kept on the event by triggers on deliveries: an index scan (events_status_received_idx).
  if (filter.status) conditions.push(eq(events.status, filter.status));
  return conditions;
}
