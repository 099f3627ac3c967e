import type postgres from 'postgres';
import { eventIdFor } from '../../src/ids.js';
import type { IngressRecord } from '../../src/ports/event-log.js';

/**
 * The webhooks the persist and delivery benches store and send: ~1 KB JSON bodies, each with a
 * unique event key, rebuilt byte for byte from `(runId, index)`. A baseline child process makes
 * the very same rows and bodies as the Hookgate side without any of them crossing a pipe.
 */

export const BENCH_PROVIDER = 'acme';
export const BENCH_EVENT_TYPE = 'order.created';
const BODY_BYTES = 1024;

const ORDER = JSON.stringify({
  number: 'A-100245',
  currency: 'EUR',
  total_cents: 15870,
  customer: { id: 'cus_8Fq2LrT0', email: 'jane.doe@example.com', name: 'Jane Doe' },
  shipping_address: { line1: 'Keizersgracht 123', city: 'Amsterdam', postal_code: '1015 CJ', country: 'NL' },
  items: [
    { sku: 'TSHIRT-BLK-M', name: 'T-shirt, black, M', quantity: 2, unit_price_cents: 2490 },
    { sku: 'MUG-WHT', name: 'Mug, white', quantity: 1, unit_price_cents: 1290 },
    { sku: 'CAP-NVY', name: 'Cap, navy', quantity: 1, unit_price_cents: 1990 },
    { sku: 'SOCKS-3P', name: 'Socks, 3 pairs', quantity: 3, unit_price_cents: 2530 },
  ],
});

export function benchEventKey(runId: string, index: number): string {
  return `${runId}-${index}`;
}

/** When webhook `index` arrived: one millisecond apart from a fixed start, so reruns agree. */
export function benchReceivedAt(startMs: number, index: number): Date {
  return new Date(startMs + index);
}

/** An acme `order.created` body padded to exactly 1,024 bytes (for indexes below 10^9). */
export function benchBody(runId: string, index: number, receivedAt: Date): Buffer {
  const head = `{"id":"${benchEventKey(runId, index)}","type":"${BENCH_EVENT_TYPE}","created_at":"${receivedAt.toISOString()}","data":{"order":${ORDER}},"note":"`;
  const padding = Math.max(0, BODY_BYTES - Buffer.byteLength(head) - 2);
  return Buffer.from(`${head}${'n'.repeat(padding)}"}`);
}

/** What the ingress role would have published for webhook `index` (headers as it stores them: no signature). */
export function benchIngressRecord(options: { runId: string; integrationId: string; startMs: number; index: number }): IngressRecord {
  const { runId, integrationId, index } = options;
  const eventKey = benchEventKey(runId, index);
  const receivedAt = benchReceivedAt(options.startMs, index);
  return {
    eventId: eventIdFor(integrationId, eventKey),
    integrationId,
    provider: BENCH_PROVIDER,
    eventKey,
    eventType: BENCH_EVENT_TYPE,
    orderingKey: null,
    receivedAt,
    sourceIp: '127.0.0.1',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'acme-webhooks/2.1 (+bench)',
      'x-acme-event': BENCH_EVENT_TYPE,
      'x-request-id': `req-${eventKey}`,
    },
    rawBody: benchBody(runId, index, receivedAt),
  };
}

/** The `events` row persistBatch writes for a record, in column names, for raw postgres.js inserts. */
export function eventRowOf(record: IngressRecord, partition: number, offset: number) {
  return {
    id: record.eventId,
    integration_id: record.integrationId,
    provider: record.provider,
    event_key: record.eventKey,
    event_type: record.eventType,
    ordering_key: record.orderingKey,
    raw_body: record.rawBody,
    headers: record.headers,
    payload: JSON.parse(record.rawBody.toString('utf8')) as postgres.JSONValue,
    source_ip: record.sourceIp,
    received_at: record.receivedAt,
    kafka_partition: partition,
    // As drizzle sends a bigint column: its decimal text.
    kafka_offset: String(offset),
  };
}

export type EventRow = ReturnType<typeof eventRowOf>;
