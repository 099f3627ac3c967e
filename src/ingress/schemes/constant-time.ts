import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Compares two byte strings without leaking where they differ or how long the expected one is:
 * both sides are hashed to 32 bytes first, then compared with timingSafeEqual.
 */
export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

export function hmacSha256(secret: string | Buffer, ...parts: (string | Buffer)[]): Buffer {
  const hmac = createHmac('sha256', secret);
  for (const part of parts) hmac.update(part);
  return hmac.digest();
}

const HEX = /^[0-9a-fA-F]+$/;

/** Hex text to bytes, or null when it is not hex (odd length included). */
export function fromHex(text: string): Buffer | null {
  return text.length % 2 === 0 && HEX.test(text) ? Buffer.from(text, 'hex') : null;
}

/** True when any secret signs `parts` to `signature`; every secret is always tried. */
export function anySecretMatches(
  secrets: readonly (string | Buffer)[],
  signature: Buffer,
  parts: (string | Buffer)[],
): boolean {
  let matched = false;
  for (const secret of secrets) {
    // No early exit: the time taken does not tell which secret (current or previous) matched.
    if (constantTimeEqual(hmacSha256(secret, ...parts), signature)) matched = true;
  }
  return matched;
}
