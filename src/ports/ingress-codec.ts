import type { IngressRecord } from './event-log.js';
import { partitionKeyOf } from './event-log.js';

/**
 * Wire format of `hookgate.ingress.v1`: the value is the raw body, byte for byte (no base64,
 * no re-encoding); everything Hookgate knows about the request travels in message headers.
 */
export const FORMAT_VERSION = '1';

export interface WireMessage {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

export function encodeIngressRecord(record: IngressRecord): WireMessage {
  const headers: Record<string, string> = {
    'hookgate-format': FORMAT_VERSION,
    'hookgate-event-id': record.eventId,
    'hookgate-integration-id': record.integrationId,
    'hookgate-provider': record.provider,
    'hookgate-event-key': record.eventKey,
    'hookgate-received-at': record.receivedAt.toISOString(),
    'hookgate-headers': JSON.stringify(record.headers),
  };
  if (record.eventType !== null) headers['hookgate-event-type'] = record.eventType;
  if (record.orderingKey !== null) headers['hookgate-ordering-key'] = record.orderingKey;
  if (record.sourceIp !== null) headers['hookgate-source-ip'] = record.sourceIp;
  return { key: partitionKeyOf(record), value: record.rawBody, headers };
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
  const format = header('hookgate-format');
  if (format !== FORMAT_VERSION) return { ok: false, reason: `unknown format ${JSON.stringify(format ?? null)}` };
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
  let headers: Record<string, string>;
  try {
    const parsed: unknown = JSON.parse(header('hookgate-headers') ?? '{}');
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    headers = parsed as Record<string, string>;
  } catch {
    return { ok: false, reason: 'malformed headers' };
  }
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
