import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { IngressRecord } from '../../src/ports/event-log.js';
import { decodeIngressMessage, encodeIngressRecord, META_HEADER, wireBytesOf } from '../../src/ports/ingress-codec.js';
import { encodeProduceRequest, type LongClass } from '../../src/ports/produce-request.js';

const Long = createRequire(import.meta.url)('kafkajs/src/utils/long.js') as LongClass;

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

  it('puts everything but the body in one header', () => {
    expect(Object.keys(encodeIngressRecord(record).headers)).toEqual([META_HEADER]);
  });

  it('refuses messages it cannot trust, saying why', () => {
    const wire = encodeIngressRecord(record);
    const fields = JSON.parse(wire.headers[META_HEADER]!) as unknown[];
    const withField = (index: number, value: unknown) => ({ [META_HEADER]: JSON.stringify(fields.map((field, at) => (at === index ? value : field))) });
    expect(decodeIngressMessage(null, wire.headers)).toMatchObject({ ok: false, reason: 'message has no value' });
    expect(decodeIngressMessage(wire.value, {})).toMatchObject({ ok: false, reason: 'unknown format null' });
    expect(decodeIngressMessage(wire.value, { [META_HEADER]: '[2, "x"' })).toMatchObject({ ok: false, reason: 'malformed metadata header' });
    expect(decodeIngressMessage(wire.value, { [META_HEADER]: '{"v":2}' })).toMatchObject({ ok: false, reason: 'unknown format null' });
    expect(decodeIngressMessage(wire.value, withField(0, 3))).toMatchObject({ ok: false, reason: 'unknown format 3' });
    expect(decodeIngressMessage(wire.value, withField(1, 'x'))).toMatchObject({ ok: false, reason: 'missing or malformed event id' });
    expect(decodeIngressMessage(wire.value, withField(2, null))).toMatchObject({ ok: false, reason: 'missing or malformed integration id' });
    expect(decodeIngressMessage(wire.value, withField(4, ''))).toMatchObject({ ok: false, reason: 'missing provider or event key' });
    expect(decodeIngressMessage(wire.value, withField(5, 'yesterday'))).toMatchObject({ ok: false, reason: 'malformed received-at' });
    expect(decodeIngressMessage(wire.value, withField(5, 1e300))).toMatchObject({ ok: false, reason: 'malformed received-at' });
    expect(decodeIngressMessage(wire.value, withField(5, 1.5))).toMatchObject({ ok: false, reason: 'malformed received-at' });
    expect(decodeIngressMessage(wire.value, withField(6, 42))).toMatchObject({ ok: false });
    expect(decodeIngressMessage(wire.value, withField(9, ['a']))).toMatchObject({ ok: false, reason: 'malformed headers' });
    expect(decodeIngressMessage(wire.value, withField(9, { a: 1 }))).toMatchObject({ ok: false, reason: 'malformed headers' });
    expect(decodeIngressMessage(wire.value, { [META_HEADER]: JSON.stringify(fields.slice(0, 9)) })).toMatchObject({ ok: false });
  });

  it('still reads format 1 (one header per field), so a topic written before the upgrade drains', () => {
    const v1 = {
      'hookgate-format': '1',
      'hookgate-event-id': record.eventId,
      'hookgate-integration-id': record.integrationId,
      'hookgate-provider': record.provider,
      'hookgate-event-key': record.eventKey,
      'hookgate-received-at': record.receivedAt.toISOString(),
      'hookgate-headers': JSON.stringify(record.headers),
      'hookgate-event-type': record.eventType!,
      'hookgate-source-ip': record.sourceIp!,
    };
    const asBuffers = Object.fromEntries(Object.entries(v1).map(([name, value]) => [name, Buffer.from(value)]));
    expect(decodeIngressMessage(record.rawBody, asBuffers)).toEqual({ ok: true, record });
    expect(decodeIngressMessage(record.rawBody, { ...v1, 'hookgate-headers': '[' })).toMatchObject({ ok: false, reason: 'malformed headers' });
    expect(decodeIngressMessage(record.rawBody, { ...v1, 'hookgate-received-at': 'yesterday' })).toMatchObject({ ok: false });
  });

  it('counts a record at no less than it takes in a produce request, its kept headers in UTF-8', () => {
    // Bytes above 0x7F in a request header arrive as latin1 characters: two UTF-8 bytes each on the wire.
    const latin1 = '\u00ff'.repeat(15_800);
    const records = [
      record,
      { ...record, eventKey: 'schlüssel-✓', headers: { 'x-junk': latin1, 'user-agent': 'ÿ"\\' } },
      { ...record, rawBody: Buffer.alloc(8_192, 0x61), headers: {}, eventType: null, sourceIp: null },
    ];
    const messages = records.map(encodeIngressRecord);
    const counted = messages.map(wireBytesOf);
    expect(counted[1]).toBeGreaterThan(2 * 15_800);
    // One partition's produce request, less what a request and a batch cost whatever they carry.
    const fixed = 2 + 2 + 4 + 4 + (2 + 1 + 4) + (4 + 4 + 61);
    for (const [index, message] of messages.entries()) {
      const request = encodeProduceRequest({ acks: -1, timeout: 1, topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [message] }] }] }, { Long });
      const onWire = request.length - fixed;
      expect(counted[index]).toBeGreaterThanOrEqual(onWire);
      expect(counted[index]! - onWire).toBeLessThan(100);
    }
  });
});
