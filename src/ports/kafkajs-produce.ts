import { createRequire } from 'node:module';
import { encodeProduceRequest, encodesLikeKafkajs, type LongClass, type ProduceArgs } from './produce-request.js';

/**
 * kafkajs's produce requests, encoded in one pass (produce-request.ts), for kafkajs 2.2.4.
 *
 * kafkajs builds each record in an encoder of its own (a zero-filled 512-byte buffer, grown and
 * copied), each header in another, every varint through `Buffer.from([...])`, the timestamp delta
 * through 64-bit Long arithmetic, then copies the records into the batch, the batch into the
 * partition, the partition into the topic, the topic into the request, and runs CRC-32C a byte at
 * a time. On the ingress that was the largest part of its CPU after HTTP itself (issue 18).
 * Anything produce-request.ts does not write the same (a timestamp, a codec, a number as a key)
 * goes to kafkajs's own encoder unchanged. kafkajs's v4–v7 requests are its v3 with another
 * version number.
 *
 * This reaches into private kafkajs modules, so only the checked release is patched, as in
 * kafkajs-encoder.ts.
 */
const CHECKED_RELEASE = '2.2.4';
const PRODUCE_VERSIONS = [3, 4, 5, 6, 7] as const;

interface KafkajsRequest {
  encode(): Promise<unknown>;
}
type RequestFactory = (args: ProduceArgs) => KafkajsRequest;

const require = createRequire(import.meta.url);
const originals = new Map<number, RequestFactory>();

function modulePath(version: number): string {
  return require.resolve(`kafkajs/src/protocol/requests/produce/v${version}/request.js`);
}

/**
 * Makes kafkajs's produce requests v3–v7 encode in one pass (see above); answers whether it did.
 * kafkajs looks its request modules up on every send, so this works before or after a first send.
 * `allocate` (tests only) replaces `Buffer.allocUnsafe`.
 */
export function encodeKafkaProduceInOnePass(options: { allocate?: (size: number) => Buffer } = {}): boolean {
  try {
    const { version } = require('kafkajs/package.json') as { version?: string };
    if (version !== CHECKED_RELEASE) return false;
    const Long = require('kafkajs/src/utils/long.js') as LongClass;
    const Encoder = require('kafkajs/src/protocol/encoder.js') as { prototype: object };
    const found = PRODUCE_VERSIONS.map((produceVersion) => {
      const path = modulePath(produceVersion);
      const factory = require(path) as unknown;
      const cached = require.cache[path];
      if (typeof factory !== 'function' || !cached) throw new Error(`produce v${produceVersion} request module not found`);
      return { produceVersion, cached };
    });
    for (const { produceVersion, cached } of found) {
      const original = originals.get(produceVersion) ?? (cached.exports as RequestFactory);
      originals.set(produceVersion, original);
      const onePass: RequestFactory = (args) => {
        // kafkajs's own request (its API key, version, name, whether a response comes), with our encoding.
        const request = original(args);
        if (!encodesLikeKafkajs(args)) return request;
        request.encode = async () => {
          const buf = encodeProduceRequest(args, { Long, allocate: options.allocate });
          // kafkajs frames the request by copying the encoder's `buffer`: an Encoder holding ours.
          return Object.assign(Object.create(Encoder.prototype) as object, { buf, offset: buf.length });
        };
        return request;
      };
      cached.exports = onePass;
    }
    return true;
  } catch {
    return false;
  }
}

/** Gives kafkajs its own produce encoders back (tests). */
export function restoreKafkaProduceEncoding(): void {
  for (const [produceVersion, original] of originals) {
    const cached = require.cache[modulePath(produceVersion)];
    if (cached) cached.exports = original;
  }
}
