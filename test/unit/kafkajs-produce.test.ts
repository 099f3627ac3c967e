import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { crc32c } from '../../src/ports/crc32c.js';
import { encodeKafkaProduceInOnePass, restoreKafkaProduceEncoding } from '../../src/ports/kafkajs-produce.js';
import type { ProduceArgs, ProduceMessage } from '../../src/ports/produce-request.js';

// kafkajs's private modules: its produce protocol lookup (what a send uses), its frame, its CRC-32C and Long.
const require = createRequire(import.meta.url);
type Encoded = { buffer: Buffer };
type Request = { apiKey: number; apiVersion: number; apiName: string; expectResponse(): boolean; encode(): Promise<Encoded> };
const produceProtocol = require('kafkajs/src/protocol/requests/produce/index.js') as {
  protocol(args: { version: number }): (args: ProduceArgs) => { request: Request };
};
const frame = require('kafkajs/src/protocol/request.js') as (args: object) => Promise<Encoded>;
const kafkajsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (buffer: Buffer) => number;
const Long = require('kafkajs/src/utils/long.js') as { fromValue(value: unknown): unknown };

const FIXED_NOW = 1_796_342_400_123;

async function encodeFramed(version: number, args: ProduceArgs): Promise<Buffer> {
  const { request } = produceProtocol.protocol({ version })(args);
  return (await frame({ correlationId: 7, clientId: 'hookgate', request })).buffer;
}

/** A seeded generator, so a failure names a case that can be run again. */
function generator(seed: number) {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const pick = <T,>(options: readonly T[]): T => options[Math.floor(next() * options.length)]!;
  return { next, pick };
}

const TEXTS = ['', 'acme:evt_1', 'ünïcødé 🙂', 'lone \ud800 surrogate', 'x'.repeat(200), JSON.stringify([2, 'id', { 'content-type': 'application/json' }])];
const SIZES = [0, 1, 63, 64, 127, 128, 1018, 8191, 8192, 16_384, 70_000];

function randomRequest(seed: number): ProduceArgs {
  const { next, pick } = generator(seed);
  const bytesOrText = () => (next() < 0.7 ? randomBytes(pick(SIZES)) : pick(TEXTS));
  const message = (): ProduceMessage => {
    const key = pick([null, undefined, 'acme:evt_42', 'ünï \udc00', Buffer.from('k'), randomBytes(3)]);
    const value = next() < 0.1 ? null : bytesOrText();
    const headers = pick([
      undefined,
      {},
      { 'hookgate-meta': pick(TEXTS) },
      { a: ['1', 'two', Buffer.from('three')], b: Buffer.from('bytes') },
      { empty: [] as string[], 'ü-name': pick(TEXTS) },
    ]);
    return { key, value, headers };
  };
  const topicCount = 1 + Math.floor(next() * 3);
  return {
    acks: pick([-1, 0, 1]),
    timeout: pick([30_000, 5000]),
    transactionalId: pick([null, undefined, '', 'tx-1']),
    producerId: pick([undefined, -1, 12_345, 2 ** 40 + 7, Long.fromValue(-1), Long.fromValue(9_876_543_210)]),
    producerEpoch: pick([undefined, 0, 3]),
    topicData: Array.from({ length: topicCount }, (_, topicIndex) => ({
      topic: pick(['hookgate.ingress.v1', 'hookgate.ingress.v1.dlq', `topic-ü-${topicIndex}`]),
      partitions: Array.from({ length: 1 + Math.floor(next() * 6) }, (_, partition) => ({
        partition,
        ...(next() < 0.3 ? { firstSequence: Math.floor(next() * 1000) } : {}),
        messages: Array.from({ length: Math.floor(next() * 30) }, message),
      })),
    })),
  };
}

describe('CRC-32C, eight bytes per step', () => {
  it('gives the standard check value and agrees with kafkajs byte-at-a-time loop at every length and offset', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    const bytes = randomBytes(300);
    for (let length = 0; length <= 70; length++) {
      for (const start of [0, 1, 3, 7]) {
        const slice = bytes.subarray(start, start + length);
        expect(crc32c(bytes, start, start + length)).toBe(kafkajsCrc32c(slice));
      }
    }
    const large = randomBytes(100_003);
    expect(crc32c(large)).toBe(kafkajsCrc32c(large));
  });
});

describe('produce requests encoded in one pass', () => {
  beforeEach(() => vi.spyOn(Date, 'now').mockReturnValue(FIXED_NOW));
  afterEach(() => {
    restoreKafkaProduceEncoding();
    vi.restoreAllMocks();
  });

  it("is what kafkajs's produce lookup uses once installed, for versions 3 to 7, and only then", async () => {
    const allocate = vi.fn((size: number) => Buffer.alloc(size, 0xaa));
    const args = randomRequest(1);
    for (const version of [3, 4, 5, 6, 7]) {
      const { request } = produceProtocol.protocol({ version })(args);
      expect(request.apiVersion).toBe(version);
    }
    expect(encodeKafkaProduceInOnePass({ allocate })).toBe(true);
    for (const version of [3, 4, 5, 6, 7]) {
      const { request } = produceProtocol.protocol({ version })(args);
      // Still kafkajs's request in all but its encoding: key, version, name, whether an answer comes.
      expect([request.apiKey, request.apiVersion, request.apiName, request.expectResponse()]).toEqual([0, version, 'Produce', args.acks !== 0]);
      await request.encode();
    }
    expect(allocate).toHaveBeenCalledTimes(5);
    restoreKafkaProduceEncoding();
    await produceProtocol.protocol({ version: 7 })(args).request.encode();
    expect(allocate).toHaveBeenCalledTimes(5);
  });

  it('writes every byte kafkajs writes, in varied requests, into a poisoned buffer', async () => {
    for (let seed = 1; seed <= 60; seed++) {
      const args = randomRequest(seed);
      const shipped = await encodeFramed(7, args);
      for (const poison of [0x00, 0xaa, 0xff]) {
        expect(encodeKafkaProduceInOnePass({ allocate: (size) => Buffer.alloc(size, poison) })).toBe(true);
        const onePass = await encodeFramed(7, args);
        restoreKafkaProduceEncoding();
        expect({ seed, poison, length: onePass.length }).toEqual({ seed, poison, length: shipped.length });
        expect(onePass.equals(shipped), `seed ${seed}, poison ${poison}`).toBe(true);
      }
    }
  });

  it('leaves to kafkajs what it does not write itself: timestamps, compression, sparse header arrays, keys and header values it refuses', async () => {
    const allocate = vi.fn((size: number) => Buffer.allocUnsafe(size));
    const base = { acks: -1, timeout: 1000 };
    const topicData = (message: ProduceMessage) => [{ topic: 't', partitions: [{ partition: 0, messages: [{ key: 'k', value: 'v' }, message] }] }];
    const delegated: ProduceArgs[] = [
      { ...base, topicData: topicData({ key: 'k', value: 'v', timestamp: '1796342400000' }) },
      { ...base, compression: 1, topicData: topicData({ key: 'k', value: 'v' }) },
    ];
    const shipped = await Promise.all(delegated.map((args) => encodeFramed(3, args)));
    expect(encodeKafkaProduceInOnePass({ allocate })).toBe(true);
    for (const [index, args] of delegated.entries()) expect((await encodeFramed(3, args)).equals(shipped[index]!)).toBe(true);
    expect(allocate).not.toHaveBeenCalled();
    // A header array with a hole: kafkajs skips it; so does the request, by leaving it to kafkajs.
    // eslint-disable-next-line no-sparse-arrays
    const sparse = { ...base, topicData: topicData({ key: 'k', value: 'v', headers: { a: ['x', , 'y'] as string[] } }) };
    restoreKafkaProduceEncoding();
    const sparseShipped = await encodeFramed(3, sparse);
    expect(encodeKafkaProduceInOnePass({ allocate })).toBe(true);
    expect((await encodeFramed(3, sparse)).equals(sparseShipped)).toBe(true);
    // kafkajs refuses a number as a key and a header without a value; so does the request, as before.
    for (const refused of [{ key: 42 as unknown as string, value: 'v' }, { key: 'k', value: 'v', headers: { a: null } }]) {
      await expect(encodeFramed(3, { ...base, topicData: topicData(refused) })).rejects.toThrow(TypeError);
    }
    expect(allocate).not.toHaveBeenCalled();
  });
});
