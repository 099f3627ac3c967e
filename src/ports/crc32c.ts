/**
 * CRC-32C (Castagnoli), the checksum of every Kafka record batch, eight bytes per step
 * ("slicing by 8"): eight lookup tables, each the previous one advanced by a byte, so one step
 * folds a whole 64-bit word. About four times the speed of the byte-at-a-time loop kafkajs ships.
 */
const POLYNOMIAL = 0x82f63b78; // reversed 0x1EDC6F41

const TABLES = buildTables();
const T0 = TABLES[0]!;
const T1 = TABLES[1]!;
const T2 = TABLES[2]!;
const T3 = TABLES[3]!;
const T4 = TABLES[4]!;
const T5 = TABLES[5]!;
const T6 = TABLES[6]!;
const T7 = TABLES[7]!;

function buildTables(): Int32Array[] {
  const tables = Array.from({ length: 8 }, () => new Int32Array(256));
  const first = tables[0]!;
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ POLYNOMIAL : crc >>> 1;
    first[byte] = crc;
  }
  for (let k = 1; k < 8; k++) {
    const previous = tables[k - 1]!;
    const table = tables[k]!;
    for (let byte = 0; byte < 256; byte++) table[byte] = (previous[byte]! >>> 8) ^ first[previous[byte]! & 0xff]!;
  }
  return tables;
}

/** CRC-32C of `bytes[start, end)`, as an unsigned 32-bit number. */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = -1;
  let i = start;
  for (const last = end - 8; i <= last; i += 8) {
    const low = crc ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    crc =
      T7[low & 0xff]! ^
      T6[(low >>> 8) & 0xff]! ^
      T5[(low >>> 16) & 0xff]! ^
      T4[low >>> 24]! ^
      T3[bytes[i + 4]!]! ^
      T2[bytes[i + 5]!]! ^
      T1[bytes[i + 6]!]! ^
      T0[bytes[i + 7]!]!;
  }
  for (; i < end; i++) crc = T0[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
