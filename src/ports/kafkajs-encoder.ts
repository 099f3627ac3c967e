import { createRequire } from 'node:module';

/**
 * kafkajs grows its protocol encoder's buffer by doubling into a fresh zero-filled `Buffer.alloc`,
 * then copies: on the ingress's produce path every record's bytes pass through five or six such
 * encoders (record, batch, partition, topic, request, frame), and the zero-filling was about 3%
 * of the ingress's CPU at load. Every encoder method writes each byte it advances over (a unit
 * test encodes produce requests into poisoned buffers and compares them with kafkajs's own), so
 * growing into `Buffer.allocUnsafe` gives byte-identical requests without the fill.
 *
 * This reaches into a private kafkajs module, so it patches only the release it was checked
 * against (2.2.4, which package-lock pins); any other release runs as shipped, and a unit test
 * fails on the upgrade so the check is made again.
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

/**
 * The kafkajs release whose private modules were read and tested: its encoder writes every byte
 * it advances over, and its produce requests are what produce-request.ts writes.
 */
const CHECKED_RELEASE = '2.2.4';

/**
 * Loads a private kafkajs module (a path under `kafkajs/src/`), only from the checked release:
 * a later kafkajs could reserve space and fill it afterwards, or change a request's layout.
 * Answers its entry in Node's module cache, whose `exports` every later `require` gets;
 * undefined for any other release, or when the module is not there.
 */
export function checkedKafkajsModule(path: string): NodeModule | undefined {
  try {
    const { version } = require('kafkajs/package.json') as { version?: string };
    if (version !== CHECKED_RELEASE) return undefined;
    const resolved = require.resolve(`kafkajs/src/${path}`);
    require(resolved);
    return require.cache[resolved];
  } catch {
    return undefined;
  }
}

function loadEncoder(): EncoderClass | undefined {
  const Encoder = checkedKafkajsModule('protocol/encoder.js')?.exports as Partial<EncoderClass> | undefined;
  if (typeof Encoder?.prototype?.ensureAvailable !== 'function' || typeof Encoder.nextPowerOfTwo !== 'function') return undefined;
  return Encoder as EncoderClass;
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
