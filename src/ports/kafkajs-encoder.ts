import { createRequire } from 'node:module';

/**
 * kafkajs grows its protocol encoder's buffer by doubling into a fresh zero-filled `Buffer.alloc`,
 * then copies: on the ingress's produce path every record's bytes pass through five or six such
 * encoders (record, batch, partition, topic, request, frame), and the zero-filling was about 3%
 * of the ingress's CPU at load. Every encoder method writes each byte it advances over (a unit
 * test encodes produce requests into poisoned buffers and compares them with kafkajs's own), so
 * growing into `Buffer.allocUnsafe` gives byte-identical requests without the fill.
 *
 * This reaches into a private kafkajs module; when its shape is not the one tested against
 * (a kafkajs upgrade), nothing is patched and kafkajs runs as shipped.
 */
interface EncoderInternals {
  buf: Buffer;
  offset: number;
  ensureAvailable(length: number): void;
}

interface EncoderClass {
  prototype: EncoderInternals;
  nextPowerOfTwo(value: number): number;
}

const require = createRequire(import.meta.url);
let original: ((this: EncoderInternals, length: number) => void) | undefined;

function loadEncoder(): EncoderClass | undefined {
  try {
    const Encoder = require('kafkajs/src/protocol/encoder.js') as Partial<EncoderClass> | undefined;
    if (typeof Encoder?.prototype?.ensureAvailable !== 'function' || typeof Encoder.nextPowerOfTwo !== 'function') return undefined;
    return Encoder as EncoderClass;
  } catch {
    return undefined;
  }
}

/** Patches kafkajs's encoder once; answers whether it is patched. `poison` (tests only) fills grown space with that byte. */
export function growKafkaEncoderWithoutZeroFill(options: { poison?: number } = {}): boolean {
  const Encoder = loadEncoder();
  if (!Encoder) return false;
  original ??= Encoder.prototype.ensureAvailable;
  const { poison } = options;
  Encoder.prototype.ensureAvailable = function ensureAvailable(this: EncoderInternals, length: number): void {
    if (this.offset + length <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Encoder.nextPowerOfTwo(this.offset + length));
    if (poison !== undefined) grown.fill(poison);
    this.buf.copy(grown, 0, 0, this.offset);
    this.buf = grown;
  };
  return true;
}

/** Puts kafkajs's own encoder growth back (tests). */
export function restoreKafkaEncoder(): void {
  const Encoder = loadEncoder();
  if (Encoder && original) Encoder.prototype.ensureAvailable = original;
}
