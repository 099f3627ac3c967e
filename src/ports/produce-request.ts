import { crc32c } from './crc32c.js';

/**
 * A Kafka produce request (versions 3 to 7 share this body) encoded in one pass into one buffer:
 * the sizes are measured first, then every byte is written once, in place, and each record
 * batch's CRC-32C folds eight bytes per step.
 *
 * It writes byte for byte what kafkajs 2.2.4 writes (a unit test compares the two on varied
 * requests, with the buffer poisoned), for what the ingress sends: records without their own
 * timestamps, without compression, keys and values and header values as strings or Buffers.
 * `encodesLikeKafkajs` says whether a request is one of those; kafkajs-produce.ts hands the
 * others to kafkajs. kafkajs's Long comes in as an argument, so this file needs no kafkajs.
 */
type Bytes = Buffer | string;
type HeaderValue = Bytes | Bytes[] | null | undefined;

export interface ProduceMessage {
  key?: Bytes | null;
  value?: Bytes | null;
  headers?: Record<string, HeaderValue>;
  timestamp?: unknown;
}

export interface ProduceArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: unknown;
  producerEpoch?: number;
  compression?: number;
  topicData: { topic: string; partitions: { partition: number; firstSequence?: number; messages: ProduceMessage[] }[] }[];
}

interface KafkaLong {
  getHighBits(): number;
  getLowBits(): number;
}

export interface LongClass {
  fromValue(value: unknown): KafkaLong;
  fromInt(value: number): KafkaLong;
}

/** 8 first offset + 4 length + 4 leader epoch + 1 magic + 4 CRC + 2 attributes + 4 last offset delta
 * + 8 first timestamp + 8 max timestamp + 8 producer id + 2 producer epoch + 4 first sequence + 4 record count. */
const BATCH_OVERHEAD = 61;
const MAGIC = 2;
const TRANSACTIONAL = 0x10;
const NO_COMPRESSION = 0;

const isBytes = (value: unknown): value is Bytes => typeof value === 'string' || Buffer.isBuffer(value);
const isOptionalBytes = (value: unknown): boolean => value === null || value === undefined || isBytes(value);
const byteLength = (value: Bytes): number => (typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length);
/** -1 for a null key or value, as Kafka writes it. */
const optionalLength = (value: Bytes | null | undefined): number => (value === null || value === undefined ? -1 : byteLength(value));

/** Every element, holes included (kafkajs skips holes, a `for…of` would not): a hole is not bytes. */
function everyBytes(values: unknown[]): boolean {
  for (let index = 0; index < values.length; index++) if (!isBytes(values[index])) return false;
  return true;
}

/** Zigzag, then LEB128: Kafka's signed varint (int32). */
function varIntSize(value: number): number {
  let unsigned = ((value << 1) ^ (value >> 31)) >>> 0;
  let size = 1;
  while (unsigned >= 0x80) {
    unsigned >>>= 7;
    size += 1;
  }
  return size;
}

/** Whether this encoder writes what kafkajs would: otherwise kafkajs encodes the request itself. */
export function encodesLikeKafkajs(args: ProduceArgs): boolean {
  if ((args.compression ?? NO_COMPRESSION) !== NO_COMPRESSION) return false;
  for (const { partitions } of args.topicData) {
    for (const { messages } of partitions) {
      for (const message of messages) {
        if (message.timestamp !== null && message.timestamp !== undefined) return false;
        if (!isOptionalBytes(message.key) || !isOptionalBytes(message.value)) return false;
        const headers = message.headers;
        if (headers === undefined) continue;
        if (headers === null || typeof headers !== 'object') return false;
        for (const name of Object.keys(headers)) {
          const value = headers[name];
          // kafkajs throws on a header without a value; it may do so itself.
          if (!(Array.isArray(value) ? everyBytes(value) : isBytes(value))) return false;
        }
      }
    }
  }
  return true;
}

export interface EncodeOptions {
  now?: () => number;
  /** Tests: where the request is written (to prove every byte is written). */
  allocate?: (size: number) => Buffer;
  Long: LongClass;
}

/**
 * The produce request's body (what follows the request header), for arguments `encodesLikeKafkajs`
 * accepts. Two passes: sizes (kept in `lengths`, read back in the same order), then bytes.
 */
export function encodeProduceRequest(args: ProduceArgs, options: EncodeOptions): Buffer {
  const now = options.now ?? Date.now;
  const transactionalId = args.transactionalId ?? null;
  const lengths: number[] = [];

  let total = 2 + (transactionalId === null ? 0 : byteLength(transactionalId)) + 2 + 4 + 4;
  for (const { topic, partitions } of args.topicData) {
    total += 2 + byteLength(topic) + 4;
    for (const { messages } of partitions) {
      let batch = BATCH_OVERHEAD;
      for (let index = 0; index < messages.length; index++) {
        const body = measureRecord(messages[index]!, index, lengths);
        batch += varIntSize(body) + body;
      }
      total += 4 + 4 + batch;
    }
  }

  const buf = options.allocate?.(total) ?? Buffer.allocUnsafe(total);
  const producerId = options.Long.fromValue(args.producerId ?? options.Long.fromInt(-1));
  // No compression, create-time timestamps; the transactional bit as kafkajs sets it (a non-empty id).
  const attributes = transactionalId ? TRANSACTIONAL : 0;
  let at = 0;
  let cursor = 0;

  const int8 = (value: number) => {
    buf[at++] = value & 0xff;
  };
  const int16 = (value: number) => {
    buf.writeInt16BE(value, at);
    at += 2;
  };
  const int32 = (value: number) => {
    buf.writeInt32BE(value, at);
    at += 4;
  };
  const int64 = (high: number, low: number) => {
    buf.writeInt32BE(high, at);
    buf.writeInt32BE(low, at + 4);
    at += 8;
  };
  const varInt = (value: number) => {
    let unsigned = ((value << 1) ^ (value >> 31)) >>> 0;
    while (unsigned >= 0x80) {
      buf[at++] = (unsigned & 0x7f) | 0x80;
      unsigned >>>= 7;
    }
    buf[at++] = unsigned;
  };
  const raw = (value: Bytes, length: number) => {
    if (typeof value === 'string') buf.write(value, at, length, 'utf8');
    else value.copy(buf, at, 0, length);
    at += length;
  };
  const string16 = (value: string) => {
    const length = byteLength(value);
    int16(length);
    raw(value, length);
  };
  /** A varint length (-1 for none), then the bytes. */
  const varBytes = (value: Bytes | null | undefined) => {
    const length = lengths[cursor++]!;
    varInt(length);
    if (length >= 0) raw(value!, length);
  };

  if (transactionalId === null) int16(-1);
  else string16(transactionalId);
  int16(args.acks);
  int32(args.timeout);
  int32(args.topicData.length);
  for (const { topic, partitions } of args.topicData) {
    string16(topic);
    int32(partitions.length);
    for (const { partition, firstSequence, messages } of partitions) {
      const timestamp = now();
      const timestampHigh = Math.floor(timestamp / 2 ** 32);
      const timestampLow = timestamp | 0;
      int32(partition);
      const recordSetAt = at;
      at += 4 + 12; // the record set's size, then the batch's first offset and length: known once written
      int32(0); // partition leader epoch
      int8(MAGIC);
      at += 4; // the CRC: computed over what follows
      const crcFrom = at;
      int16(attributes);
      int32(messages.length - 1);
      int64(timestampHigh, timestampLow);
      int64(timestampHigh, timestampLow);
      int64(producerId.getHighBits(), producerId.getLowBits());
      int16(args.producerEpoch ?? 0);
      int32(firstSequence ?? 0);
      int32(messages.length);
      for (let index = 0; index < messages.length; index++) {
        const message = messages[index]!;
        varInt(lengths[cursor++]!); // the record's length
        int8(0); // attributes
        int8(0); // timestamp delta: every record carries the batch's timestamp
        varInt(index); // offset delta
        varBytes(message.key);
        varBytes(message.value);
        varInt(lengths[cursor++]!); // header count
        const headers = message.headers;
        if (headers === undefined) continue;
        for (const name of Object.keys(headers)) {
          const value = headers[name] as Bytes | Bytes[];
          if (!Array.isArray(value)) {
            varBytes(name);
            varBytes(value);
          } else {
            for (const one of value) {
              varBytes(name);
              varBytes(one);
            }
          }
        }
      }
      const batchEnd = at;
      buf.writeInt32BE(batchEnd - recordSetAt - 4, recordSetAt);
      buf.writeInt32BE(0, recordSetAt + 4); // first offset (int64 0)
      buf.writeInt32BE(0, recordSetAt + 8);
      buf.writeInt32BE(batchEnd - recordSetAt - 16, recordSetAt + 12);
      buf.writeUInt32BE(crc32c(buf, crcFrom, batchEnd), crcFrom - 4);
    }
  }
  if (at !== total) throw new Error(`produce request measured ${total} bytes but wrote ${at}`);
  return buf;
}

/** Adds one record's lengths to `lengths` (its size, key, value, header count, each header's name and value); answers its size. */
function measureRecord(message: ProduceMessage, index: number, lengths: number[]): number {
  const sizeAt = lengths.length;
  lengths.push(0);
  // attributes, timestamp delta (0), offset delta
  let size = 1 + 1 + varIntSize(index);
  const keyLength = optionalLength(message.key);
  const valueLength = optionalLength(message.value);
  lengths.push(keyLength, valueLength);
  size += varIntSize(keyLength) + Math.max(0, keyLength) + varIntSize(valueLength) + Math.max(0, valueLength);
  const countAt = lengths.length;
  lengths.push(0);
  let count = 0;
  const headers = message.headers;
  if (headers !== undefined) {
    for (const name of Object.keys(headers)) {
      const value = headers[name] as Bytes | Bytes[];
      const nameLength = byteLength(name);
      // As the writing pass walks them: a name with several values is that many headers.
      if (!Array.isArray(value)) {
        size += measureHeader(nameLength, value, lengths);
        count += 1;
      } else {
        for (const one of value) size += measureHeader(nameLength, one, lengths);
        count += value.length;
      }
    }
  }
  lengths[countAt] = count;
  size += varIntSize(count);
  lengths[sizeAt] = size;
  return size;
}

/** Adds one header's name and value lengths to `lengths`; answers its size. */
function measureHeader(nameLength: number, value: Bytes, lengths: number[]): number {
  const valueLength = byteLength(value);
  lengths.push(nameLength, valueLength);
  return varIntSize(nameLength) + nameLength + varIntSize(valueLength) + valueLength;
}
