import { getTableColumns } from 'drizzle-orm';
import { events, type EventRow } from '../db/schema.js';

/** Every event column but the raw body, which lists load only when a client asks for it. */
const { rawBody: _rawBody, ...summaryColumns } = getTableColumns(events);
export const eventColumns = summaryColumns;
export type EventSummary = Omit<EventRow, 'rawBody'>;
