import { anySecretMatches, fromHex, hmacSha256 } from './constant-time.js';
import { parseUnixSeconds, timestampFailure } from './timestamp-tolerance.js';
import type { VerificationScheme } from './types.js';

interface StripeSignatureHeader {
  /** The timestamp exactly as sent: it is signed as text, so it is never re-formatted. */
  timestamp: string;
  seconds: number;
  signatures: Buffer[];
}

/**
 * Reads `t=<unix>,v1=<hex>[,v1=<hex>...]`. Stripe sends one v1 per secret while a secret is being
 * rolled, and a fake v0 on test-mode events; schemes other than v1 are ignored. Null when the header
 * cannot be read, so a malformed header is told apart from one that simply does not match.
 */
function parseStripeSignature(value: string): StripeSignatureHeader | null {
  let timestamp: string | undefined;
  const signatures: Buffer[] = [];
  for (const item of value.split(',')) {
    const separator = item.indexOf('=');
    if (separator <= 0) return null;
    const key = item.slice(0, separator).trim();
    const text = item.slice(separator + 1).trim();
    if (key === 't') {
      // Two timestamps would leave it ambiguous which one the tolerance applies to.
      if (timestamp !== undefined) return null;
      timestamp = text;
    } else if (key === 'v1') {
      const signature = fromHex(text);
      if (!signature) return null;
      signatures.push(signature);
    }
  }
  const seconds = timestamp === undefined ? null : parseUnixSeconds(timestamp);
  if (timestamp === undefined || seconds === null || signatures.length === 0) return null;
  return { timestamp, seconds, signatures };
}

/** Stripe: `stripe-signature` carries a hex HMAC-SHA256 of `${t}.${rawBody}`. The event id is in the body. */
export const stripeScheme: VerificationScheme = {
  name: 'STRIPE',
  defaultEventKeyPath: '$.id',
  defaultEventTypePath: '$.type',
  verify({ rawBody, headers, secrets, settings, now }) {
    const value = headers['stripe-signature']?.trim();
    if (!value) return { ok: false, code: 'SIGNATURE_MISSING' };
    const parsed = parseStripeSignature(value);
    if (!parsed) return { ok: false, code: 'SIGNATURE_INVALID' };
    // Stripe keys the HMAC with the secret exactly as its dashboard shows it, `whsec_` prefix included.
    if (!anySecretMatches(secrets, parsed.signatures, [parsed.timestamp, '.', rawBody])) {
      return { ok: false, code: 'SIGNATURE_INVALID' };
    }
    const stale = timestampFailure(parsed.seconds, now, settings.toleranceSeconds);
    return stale ? { ok: false, code: stale } : { ok: true };
  },
  sign(body, { secret, now }) {
    const timestamp = Math.floor(now.getTime() / 1000);
    return {
      headers: { 'stripe-signature': `t=${timestamp},v1=${hmacSha256(secret, `${timestamp}.`, body).toString('hex')}` },
      body,
      contentType: 'application/json',
    };
  },
};
