import { anySecretMatches, hmacDigest, type HmacAlgorithm } from './constant-time.js';
import { parseUnixSeconds, timestampFailure } from './timestamp-tolerance.js';
import { sampleBodyFor, samplePayload } from './sample.js';
import type { RequestHeaders, SampleOptions, VerificationInput, VerificationResult, VerificationScheme } from './types.js';

/** What a request presents: one or more signatures, and the timestamp they sign when there is one. */
export interface PresentedSignature {
  signatures: Buffer[];
  timestamp?: string;
}

/**
 * A provider that signs with an HMAC, described once and used both ways: `verify` for the ingress
 * and `sign` for `hookgate send` and the tests. Each preset module fills in where the signature
 * sits, what is signed and how its answer names the event; the constant-time comparison over every
 * active secret, and the tolerance check after a match, are here for all of them.
 */
export interface HmacPresetSpec extends Omit<VerificationScheme, 'verify' | 'sign'> {
  algorithm?: HmacAlgorithm;
  /** Reads the presented signature(s); a missing header and a malformed one are told apart. */
  read(input: VerificationInput): PresentedSignature | 'missing' | 'invalid';
  /** The bytes the provider signed, or null when they cannot be formed (no public URL configured). */
  signed(input: VerificationInput, timestamp: string | undefined): (string | Buffer)[] | null;
  /** The timestamp as Unix seconds (default: a plain integer of seconds); null when malformed. */
  seconds?(timestamp: string): number | null;
  /** The HMAC key for a configured secret (default: its UTF-8 bytes). */
  key?(secret: string): string | Buffer;
  /** The event key and type where this provider puts them outside the body (headers). */
  found?(headers: RequestHeaders): { eventKey?: string | undefined; eventType?: string | undefined };
  /** The timestamp a sample is signed at (default: Unix seconds); omit for providers that sign none. */
  sampleTimestamp?: ((now: Date) => string) | null;
  /** The headers the provider sends for a signature (sample signer). */
  write(signature: Buffer, timestamp: string | undefined, options: SampleOptions): Record<string, string>;
  /** Rewrites the body a sample carries (Mailgun puts the signature inside it). */
  sampleBody?(body: Buffer, sign: (...parts: (string | Buffer)[]) => Buffer, options: SampleOptions): Buffer;
}

export function unixSecondsNow(now: Date): string {
  return String(Math.floor(now.getTime() / 1000));
}

/** Drops undefined and empty values, so a result is exactly `{ ok: true }` when nothing was found. */
function present(found: { eventKey?: string | undefined; eventType?: string | undefined }): { eventKey?: string; eventType?: string } {
  const result: { eventKey?: string; eventType?: string } = {};
  if (found.eventKey) result.eventKey = found.eventKey;
  if (found.eventType) result.eventType = found.eventType;
  return result;
}

export function hmacPreset(spec: HmacPresetSpec): VerificationScheme {
  const algorithm = spec.algorithm ?? 'sha256';
  const keyOf = spec.key ?? ((secret: string) => secret);
  // The description's own parts stay here; the rest is the VerificationScheme as described.
  const { read, signed, seconds, key: _key, found, sampleTimestamp, write, sampleBody, ...scheme } = spec;
  return {
    ...scheme,
    verify(input): VerificationResult {
      const presented = read(input);
      if (presented === 'missing') return { ok: false, code: 'SIGNATURE_MISSING' };
      if (presented === 'invalid' || presented.signatures.length === 0) return { ok: false, code: 'SIGNATURE_INVALID' };
      const when = presented.timestamp === undefined ? undefined : (seconds ?? parseUnixSeconds)(presented.timestamp);
      if (when === null) return { ok: false, code: 'SIGNATURE_INVALID' };
      const content = signed(input, presented.timestamp);
      if (!content || !anySecretMatches(input.secrets.map(keyOf), presented.signatures, content, algorithm)) {
        return { ok: false, code: 'SIGNATURE_INVALID' };
      }
      // Only after a match: an unsigned caller must not learn the tolerance window.
      if (when !== undefined) {
        const stale = timestampFailure(when, input.now, input.settings.toleranceSeconds);
        if (stale) return { ok: false, code: stale };
      }
      return { ok: true, ...present(found?.(input.headers) ?? {}) };
    },
    sign(body, options) {
      const mac = (...parts: (string | Buffer)[]) => hmacDigest(algorithm, keyOf(options.secret), ...parts);
      const base = sampleBodyFor(scheme, body);
      const finalBody = sampleBody ? sampleBody(base, mac, options) : base;
      const timestamp = sampleTimestamp === null ? undefined : (sampleTimestamp ?? unixSecondsNow)(options.now);
      const sample = samplePayload(scheme, finalBody);
      const input: VerificationInput = {
        rawBody: finalBody,
        headers: {},
        secrets: [options.secret],
        settings: options.settings,
        now: options.now,
        method: 'POST',
        ...(options.url === undefined ? {} : { url: options.url }),
        payload: () => sample.payload,
      };
      const content = signed(input, timestamp);
      if (!content) throw new Error(`${scheme.name} signs the URL: configure the integration's public URL first`);
      return { headers: write(mac(...content), timestamp, options), body: finalBody, contentType: sample.contentType };
    },
  };
}
