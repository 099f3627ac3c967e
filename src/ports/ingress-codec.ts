import type { IngressRecord } from './event-log.js';
import { partitionKeyOf } from './event-log.js';

/**
 * Wire format of `hookgate.ingress.v1`: the value is the raw body, byte for byte (no base64,
 * no re-encoding); everything Hookgate knows about the request travels in ONE message header,
 * `hookgate-meta`: a JSON array led by its format number,
 *
 *     [2, eventId, integrationId, provider, eventKey, receivedAtMs, eventType, orderingKey, sourceIp, headers]
 *
 * (nulls where a field is absent; `headers` the stored request headers as an object).
 *
 * Why one header: kafkajs encodes each header as two length-prefixed buffers, and the broker
 * validates each one; format 1 had up to ten per record, one of them a JSON copy of the request
 * headers anyway. Format 1 records (`hookgate-format: 1`, a header per field) are still read, so a
 * topic written by an older ingress drains after an upgrade.
 */
export const FORMAT_VERSION = 2;
export const META_HEADER = 'hookgate-meta';

export interface WireMessage {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

export function encodeIngressRecord(record: IngressRecord): WireMessage {
  const meta = JSON.stringify([
    FORMAT_VERSION,
    record.eventId,
    record.integrationId,
    record.provider,
    record.eventKey,
    record.receivedAt.getTime(),
    record.eventType,
    record.orderingKey,
    record.sourceIp,
    record.headers,
  ]);
  return { key: partitionKeyOf(record), value: record.rawBody, headers: { [META_HEADER]: meta } };
}

/**
 * Room one record takes in a produce request, beyond its key, value and headers: the record's own
 * varint fields (length, attributes, timestamp and offset deltas, header count) and each header's
 * two length prefixes. Generous: it only has to keep a shared send under the broker's limits.
 */
const RECORD_OVERHEAD_BYTES = 64;
const HEADER_OVERHEAD_BYTES = 10;

/**
 * The bytes one message puts on the wire: what a shared send is cut by. The metadata header counts
 * in full, and in UTF-8: it carries the kept request headers, whose bytes above 0x7F were read as
 * latin1 and take two bytes each, so a small body can carry a header twice its own size.
 */
export function wireBytesOf(message: WireMessage): number {
  let bytes = RECORD_OVERHEAD_BYTES + Buffer.byteLength(message.key, 'utf8') + message.value.length;
  for (const name in message.headers) {
    bytes += HEADER_OVERHEAD_BYTES + Buffer.byteLength(name, 'utf8') + Buffer.byteLength(message.headers[name]!, 'utf8');
  }
  return bytes;
}

type RawHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

export type DecodeResult = { ok: true; record: IngressRecord } | { ok: false; reason: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function decodeIngressMessage(value: Buffer | null, rawHeaders: RawHeaders | undefined): DecodeResult {
  const header = (name: string): string | undefined => {
    const raw = rawHeaders?.[name];
    const first = Array.isArray(raw) ? raw[0] : raw;
    return first === undefined ? undefined : first.toString();
  };
  if (value === null) return { ok: false, reason: 'message has no value' };
  const meta = header(META_HEADER);
  if (meta !== undefined) return decodeMeta(value, meta);
  const format = header('hookgate-format');
  if (format === '1') return decodeFormat1(value, header);
  return { ok: false, reason: `unknown format ${JSON.stringify(format ?? null)}` };
}

const isText = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const isTextOrNull = (value: unknown): value is string | null => value === null || isText(value);

function decodeMeta(value: Buffer, meta: string): DecodeResult {
  let fields: unknown;
  try {
    fields = JSON.parse(meta);
  } catch {
    return { ok: false, reason: 'malformed metadata header' };
  }
  if (!Array.isArray(fields) || fields[0] !== FORMAT_VERSION) {
    return { ok: false, reason: `unknown format ${JSON.stringify(Array.isArray(fields) ? (fields[0] ?? null) : null)}` };
  }
  if (fields.length !== 10) return { ok: false, reason: 'malformed metadata header' };
  const [, eventId, integrationId, provider, eventKey, receivedAtMs, eventType, orderingKey, sourceIp, headers] = fields as unknown[];
  if (!isText(eventId) || !UUID.test(eventId)) return { ok: false, reason: 'missing or malformed event id' };
  if (!isText(integrationId) || !UUID.test(integrationId)) return { ok: false, reason: 'missing or malformed integration id' };
  if (!isText(provider) || !isText(eventKey)) return { ok: false, reason: 'missing provider or event key' };
  // A Date holds ±8.64e15 ms; past that it is invalid and would fail later, in storage, forever.
  if (typeof receivedAtMs !== 'number' || !Number.isSafeInteger(receivedAtMs) || Math.abs(receivedAtMs) > 8.64e15) {
    return { ok: false, reason: 'malformed received-at' };
  }
  if (!isTextOrNull(eventType) || !isTextOrNull(orderingKey) || !isTextOrNull(sourceIp)) {
    return { ok: false, reason: 'malformed event type, ordering key or source address' };
  }
  if (!stringRecord(headers)) return { ok: false, reason: 'malformed headers' };
  return {
    ok: true,
    record: { eventId, integrationId, provider, eventKey, eventType, orderingKey, receivedAt: new Date(receivedAtMs), sourceIp, headers, rawBody: value },
  };
}

function stringRecord(value: unknown): value is Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  return Object.values(value).every((entry) => typeof entry === 'string');
}

/** Format 1: one header per field (written by ingresses before format 2). */
function decodeFormat1(value: Buffer, header: (name: string) => string | undefined): DecodeResult {
  const eventId = header('hookgate-event-id');
  const integrationId = header('hookgate-integration-id');
  const provider = header('hookgate-provider');
  const eventKey = header('hookgate-event-key');
  const receivedAtText = header('hookgate-received-at');
  if (!eventId || !UUID.test(eventId)) return { ok: false, reason: 'missing or malformed event id' };
  if (!integrationId || !UUID.test(integrationId)) return { ok: false, reason: 'missing or malformed integration id' };
  if (!provider || !eventKey || !receivedAtText) return { ok: false, reason: 'missing provider, event key or received-at' };
  const receivedAt = new Date(receivedAtText);
  if (Number.isNaN(receivedAt.getTime())) return { ok: false, reason: 'malformed received-at' };
  let headers: unknown;
  try {
    headers = JSON.parse(header('hookgate-headers') ?? '{}');
  } catch {
    return { ok: false, reason: 'malformed headers' };
  }
  if (!stringRecord(headers)) return { ok: false, reason: 'malformed headers' };
  return {
    ok: true,
    record: {
      eventId,
      integrationId,
      provider,
      eventKey,
      eventType: header('hookgate-event-type') ?? null,
      orderingKey: header('hookgate-ordering-key') ?? null,
      receivedAt,
      sourceIp: header('hookgate-source-ip') ?? null,
      headers,
      rawBody: value,
    },
  };
}
