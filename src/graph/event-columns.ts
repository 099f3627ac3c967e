import { getTableColumns } from 'drizzle-orm';
import { events, type EventRow } from '../db/schema.js';

/**
 * What lists and single-event reads load: every event column but the heavy ones. The payload,
 * headers (up to 1 MiB together) and raw body load through their own loaders, only when a client
 * selects them.
 */
const { rawBody: _rawBody, payload: _payload, headers: _headers, ...summaryColumns } = getTableColumns(events);
export const eventColumns = summaryColumns;
export type EventSummary = Omit<EventRow, 'rawBody' | 'payload' | 'headers'>;
