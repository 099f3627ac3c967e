import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Compares two byte strings without leaking where they differ or how long the expected one is:
 * both sides are hashed to 32 bytes first, then compared with timingSafeEqual.
 */
export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/**
 * Compares a computed HMAC-SHA256 digest with a presented one. A digest's length (32 bytes) is
 * public, so a length mismatch may answer at once; equal lengths are compared in constant time.
 * No hashing of both sides: this runs for every webhook.
 */
export function digestEqual(expected: Buffer, presented: Buffer): boolean {
  return expected.length === presented.length && timingSafeEqual(expected, presented);
}

export type HmacAlgorithm = 'sha256' | 'sha1';

export function hmacDigest(algorithm: HmacAlgorithm, secret: string | Buffer, ...parts: (string | Buffer)[]): Buffer {
  const hmac = createHmac(algorithm, secret);
  for (const part of parts) hmac.update(part);
  return hmac.digest();
}

export function hmacSha256(secret: string | Buffer, ...parts: (string | Buffer)[]): Buffer {
  return hmacDigest('sha256', secret, ...parts);
}

const HEX = /^[0-9a-fA-F]+$/;

/** Hex text to bytes, or null when it is not hex (odd length included). */
export function fromHex(text: string): Buffer | null {
  return text.length % 2 === 0 && HEX.test(text) ? Buffer.from(text, 'hex') : null;
}

// Padded standard base64 only, as Shopify and Standard Webhooks send it; Buffer.from alone would
// silently skip stray characters and turn garbage into some bytes.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Base64 text to bytes, or null when it is empty or not padded standard base64. */
export function fromBase64(text: string): Buffer | null {
  return text.length > 0 && BASE64.test(text) ? Buffer.from(text, 'base64') : null;
}

/**
 * True when any secret signs `parts` to the signature, or to any of several signatures (Stripe and
 * Standard Webhooks may send more than one); every secret and every signature is always tried.
 */
export function anySecretMatches(
  secrets: readonly (string | Buffer)[],
  signature: Buffer | readonly Buffer[],
  parts: (string | Buffer)[],
  algorithm: HmacAlgorithm = 'sha256',
): boolean {
  const signatures = Buffer.isBuffer(signature) ? [signature] : signature;
  let matched = false;
  for (const secret of secrets) {
    const expected = hmacDigest(algorithm, secret, ...parts);
    // No early exit: the time taken does not tell which secret (current or previous) matched.
    for (const candidate of signatures) {
      if (digestEqual(expected, candidate)) matched = true;
    }
  }
  return matched;
}

/** True when the presented token equals any secret; every secret is compared, in constant time. */
export function anyTokenMatches(secrets: readonly string[], presented: string): boolean {
  const token = Buffer.from(presented, 'utf8');
  let matched = false;
  for (const secret of secrets) {
    if (constantTimeEqual(token, Buffer.from(secret, 'utf8'))) matched = true;
  }
  return matched;
}
