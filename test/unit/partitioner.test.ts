import { randomBytes } from 'node:crypto';
import { Partitioners, type PartitionerArgs } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { javaCompatiblePartitioner, murmur2, partitionForKey } from '../../src/ports/partitioner.js';
import { javaPartitionFor } from '../helpers/providers.js';

const metadata = (count: number) =>
  Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));

const keys = [
  ...Array.from({ length: 300 }, (_, i) => randomBytes(i % 41).toString('hex')),
  // Multi-byte UTF-8, an unpaired surrogate (both sides encode it as U+FFFD), and a key too long for the scratch buffer.
  'ünïcødé-kéy-日本語-🙂',
  'half \ud800 surrogate',
  'x'.repeat(5000),
  '',
];

describe('Java-compatible partitioning', () => {
  // Values computed by Kafka's Java client (org.apache.kafka.common.utils.Utils.murmur2).
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('hashes %j like the Java client, and the test oracle places it alike', (key, expected) => {
    expect(murmur2(Buffer.from(key))).toBe(expected);
    for (const count of [1, 7, 12]) expect(javaPartitionFor(key, count)).toBe((expected & 0x7fffffff) % count);
  });

  it('places every string key where the Java partitioner (the test oracle, kafkajs’s own) does', () => {
    for (const key of keys) for (const count of [1, 3, 12]) expect(partitionForKey(key, count)).toBe(javaPartitionFor(key, count));
  });

  it('picks the partition kafkajs’s DefaultPartitioner picks, for string, Buffer and (as kafkajs hashes them) number keys', () => {
    const ours = javaCompatiblePartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    for (const key of keys) {
      for (const count of [1, 6, 12]) {
        for (const message of [{ key, value: null }, { key: Buffer.from(key), value: null }, { key: key.length as unknown as string, value: null }]) {
          const args: PartitionerArgs = { topic: 't', partitionMetadata: metadata(count), message };
          expect(ours(args)).toBe(theirs(args));
        }
      }
    }
  });

  it('keeps an explicit partition, and refuses a record without a key', () => {
    const ours = javaCompatiblePartitioner();
    expect(ours({ topic: 't', partitionMetadata: metadata(6), message: { key: 'k', value: null, partition: 4 } })).toBe(4);
    expect(() => ours({ topic: 't', partitionMetadata: metadata(6), message: { value: null } })).toThrow(/key/);
  });
});
