import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { growKafkaEncoderWithoutZeroFill, restoreKafkaEncoder } from '../../src/ports/kafkajs-encoder.js';

// kafkajs's own produce request (v3, the one it sends to Kafka 4.x) and frame, private modules both.
const require = createRequire(import.meta.url);
type Encoded = { buffer: Buffer };
const produceRequest = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (args: object) => { encode(): Promise<Encoded> };
const frame = require('kafkajs/src/protocol/request.js') as (args: object) => Promise<Encoded>;

// Timestamps given: without one kafkajs stamps the batch with Date.now(), and two encodings would differ by it.
const records = () => [
  { key: 'acme:evt_1', value: randomBytes(1018), headers: { 'hookgate-meta': JSON.stringify([2, 'x', { a: 'ü🙂' }]) }, timestamp: '1796342400000' },
  { key: 'ünïcødé \ud800 key', value: randomBytes(5000), headers: { a: ['1', 'two'], b: Buffer.from('bytes') }, timestamp: '1796342400001' },
  { key: null, value: Buffer.alloc(0), headers: {}, timestamp: '1796342400002' },
  { key: Buffer.from('k'), value: randomBytes(70_000), timestamp: '1796342400003' },
];

async function encodeAll(messages: ReturnType<typeof records>): Promise<Buffer> {
  const request = produceRequest({
    acks: -1,
    timeout: 5000,
    topicData: [
      { topic: 'hookgate.ingress.v1', partitions: [{ partition: 0, messages: messages.slice(0, 2) }, { partition: 3, messages: messages.slice(2) }] },
      { topic: 'another', partitions: [{ partition: 1, messages }] },
    ],
  });
  return (await frame({ correlationId: 7, clientId: 'hookgate', request })).buffer;
}

describe("kafkajs's encoder grown without zero-fill", () => {
  afterEach(() => restoreKafkaEncoder());

  it('finds the encoder it patches (a kafkajs upgrade that moves it fails here), and kafkajs uses the patched one', () => {
    expect(growKafkaEncoderWithoutZeroFill({ poison: 0xaa })).toBe(true);
    const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => { buf: Buffer; writeBytes(value: Buffer): unknown };
    const encoder = new Encoder();
    encoder.writeBytes(Buffer.alloc(600, 1));
    // Grown past its first 512 bytes into poisoned space: the bytes beyond what was written show it.
    expect(encoder.buf.length).toBe(1024);
    expect(encoder.buf.subarray(604).every((byte) => byte === 0xaa)).toBe(true);
  });

  it('encodes produce requests byte for byte as kafkajs does, even when grown space holds garbage', async () => {
    const messages = records();
    restoreKafkaEncoder();
    const shipped = await encodeAll(messages);
    for (const poison of [0x00, 0xaa, 0xff]) {
      expect(growKafkaEncoderWithoutZeroFill({ poison })).toBe(true);
      const patched = await encodeAll(messages);
      expect(patched.length).toBe(shipped.length);
      expect(patched.equals(shipped)).toBe(true);
    }
  });
});
