import { describe, expect, it } from 'vitest';
import { murmur2 } from '../helpers/providers.js';

describe('murmur2 (the test oracle for Java-compatible partitioning)', () => {
  // Values computed by Kafka's Java client (org.apache.kafka.common.utils.Utils.murmur2).
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('hashes %j like the Java client', (key, expected) => {
    expect(murmur2(Buffer.from(key))).toBe(expected);
  });
});
