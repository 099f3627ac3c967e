import { describe, expect, it } from 'vitest';
import type { IngressRecord } from '../../src/ports/event-log.js';
import { decodeIngressMessage, encodeIngressRecord } from '../../src/ports/ingress-codec.js';

const record: IngressRecord = {
  eventId: 'e53f66d2-53fe-526f-9799-188fb78a706f',
  integrationId: 'c23e51a4-0550-435c-a194-a91bd457fae6',
  provider: 'acme',
  eventKey: 'evt_1',
  eventType: 'order.created',
  orderingKey: null,
  receivedAt: new Date('2026-11-23T03:17:40.843Z'),
  sourceIp: '127.0.0.1',
  headers: { 'content-type': 'application/json' },
  rawBody: Buffer.from('{"id":"evt_1",  "spacing":"kept"}'),
};

describe('ingress wire format', () => {
  it('keys a message by integration and event key and keeps the body byte for byte', () => {
    const wire = encodeIngressRecord(record);
    expect(wire.key).toBe(`${record.integrationId}:evt_1`);
    expect(wire.value.equals(record.rawBody)).toBe(true);
  });

  it('round-trips every field', () => {
    const wire = encodeIngressRecord(record);
    const headers = Object.fromEntries(Object.entries(wire.headers).map(([k, v]) => [k, Buffer.from(v)]));
    expect(decodeIngressMessage(wire.value, headers)).toEqual({ ok: true, record });
  });

  it('keys by the ordering key when the integration sets one, and round-trips it', () => {
    const ordered = { ...record, orderingKey: 'order-42' };
    const wire = encodeIngressRecord(ordered);
    expect(wire.key).toBe(`${record.integrationId}:order-42`);
    expect(decodeIngressMessage(wire.value, wire.headers)).toEqual({ ok: true, record: ordered });
  });

  it('round-trips a record without type or source address', () => {
    const bare = { ...record, eventType: null, sourceIp: null };
    const wire = encodeIngressRecord(bare);
    expect(decodeIngressMessage(wire.value, wire.headers)).toEqual({ ok: true, record: bare });
  });

  it('refuses messages it cannot trust, saying why', () => {
    const wire = encodeIngressRecord(record);
    expect(decodeIngressMessage(null, wire.headers)).toMatchObject({ ok: false, reason: 'message has no value' });
    expect(decodeIngressMessage(wire.value, {})).toMatchObject({ ok: false });
    expect(decodeIngressMessage(wire.value, { ...wire.headers, 'hookgate-event-id': 'x' })).toMatchObject({ ok: false });
    expect(decodeIngressMessage(wire.value, { ...wire.headers, 'hookgate-headers': '[' })).toMatchObject({ ok: false, reason: 'malformed headers' });
    expect(decodeIngressMessage(wire.value, { ...wire.headers, 'hookgate-received-at': 'yesterday' })).toMatchObject({ ok: false });
  });
});
