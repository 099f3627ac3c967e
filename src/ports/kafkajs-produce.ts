import { checkedKafkajsModule } from './kafkajs-encoder.js';
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
 * This reaches into private kafkajs modules, so only the checked release is patched
 * (`checkedKafkajsModule`, shared with kafkajs-encoder.ts).
 */
const PRODUCE_VERSIONS = [3, 4, 5, 6, 7] as const;

interface KafkajsRequest {
  encode(): Promise<unknown>;
}
type RequestFactory = (args: ProduceArgs) => KafkajsRequest;

const originals = new Map<number, RequestFactory>();
const requestModule = (version: number) => checkedKafkajsModule(`protocol/requests/produce/v${version}/request.js`);

/**
 * Makes kafkajs's produce requests v3–v7 encode in one pass (see above); answers whether it did.
 * kafkajs looks its request modules up on every send, so this works before or after a first send.
 * `allocate` (tests only) replaces `Buffer.allocUnsafe`.
 */
export function encodeKafkaProduceInOnePass(options: { allocate?: (size: number) => Buffer } = {}): boolean {
  const Long = checkedKafkajsModule('utils/long.js')?.exports as LongClass | undefined;
  const Encoder = checkedKafkajsModule('protocol/encoder.js')?.exports as { prototype: object } | undefined;
  if (!Long || !Encoder) return false;
  const modules = [];
  for (const produceVersion of PRODUCE_VERSIONS) {
    const cached = requestModule(produceVersion);
    if (typeof cached?.exports !== 'function') return false;
    modules.push({ produceVersion, cached });
  }
  for (const { produceVersion, cached } of modules) {
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
}

/** Gives kafkajs its own produce encoders back (tests). */
export function restoreKafkaProduceEncoding(): void {
  for (const [produceVersion, original] of originals) {
    const cached = requestModule(produceVersion);
    if (cached) cached.exports = original;
  }
}
