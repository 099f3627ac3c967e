import type { ICustomPartitioner } from 'kafkajs';

/**
 * Where a key's records go: Kafka's Java default (murmur2 of the key's UTF-8 bytes, made positive,
 * modulo the partition count), so every Kafka client, the embedded log and kafkajs agree.
 */

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), in 32-bit signed arithmetic. */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = 0x9747b28c ^ length;
  const whole = length - (length % 4);
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  // The Java original's switch falls through from 3 remaining bytes down to 1.
  const rest = length % 4;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) {
    h ^= data[whole]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

// Keys are event keys, a few dozen bytes: one reusable scratch buffer instead of a Buffer per record.
const scratch = Buffer.allocUnsafe(1024);

const partitionOfBytes = (bytes: Uint8Array, partitions: number) => (murmur2(bytes) & 0x7fffffff) % partitions;

/** The partition Kafka's default partitioner picks for a key. */
export function partitionForKey(key: string, partitions: number): number {
  const fits = key.length * 3 <= scratch.length;
  return partitionOfBytes(fits ? scratch.subarray(0, scratch.write(key, 'utf8')) : Buffer.from(key, 'utf8'), partitions);
}

/**
 * kafkajs's DefaultPartitioner, for records that always have a key, without its costs: it
 * hashes with a 64-bit Long emulation and filters the partition list for every record, which
 * was about 4% of the ingress's CPU at thousands of webhooks per second. Same partitions.
 */
export const javaCompatiblePartitioner: ICustomPartitioner = () => ({ partitionMetadata, message }) => {
  if (message.partition !== undefined && message.partition !== null) return message.partition;
  if (message.key === null || message.key === undefined) throw new Error('a Hookgate record always has a key');
  const count = partitionMetadata.length;
  // As kafkajs: a Buffer's bytes, anything else as the text it sends on the wire (String(key)).
  return Buffer.isBuffer(message.key) ? partitionOfBytes(message.key, count) : partitionForKey(String(message.key), count);
};
