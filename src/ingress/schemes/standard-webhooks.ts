import { anySecretMatches, fromBase64, hmacSha256 } from './constant-time.js';
import { parseUnixSeconds, timestampFailure } from './timestamp-tolerance.js';
import type { RequestHeaders, VerificationScheme } from './types.js';

const SECRET_PREFIX = 'whsec_';

/**
 * The HMAC key for a secret. The spec's secrets are base64 of random bytes, usually after `whsec_`.
 * Text that is not base64 cannot be the encoding of any key, so the only way a sender can have
 * signed with it is as the text itself, as some hand-written senders do; using its UTF-8 bytes lets
 * those integrations verify and changes nothing for a secret that follows the spec.
 */
function signingKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return fromBase64(encoded) ?? Buffer.from(secret, 'utf8');
}

/** Svix, where the spec began, still sends `svix-*` names; what is signed is the same. */
function header(headers: RequestHeaders, name: 'id' | 'timestamp' | 'signature'): string | undefined {
  return (headers[`webhook-${name}`] ?? headers[`svix-${name}`])?.trim();
}

/**
 * The v1 signatures in a space-separated list of `<version>,<base64>` entries. Other versions (such
 * as the asymmetric `v1a`) are skipped, so a sender may list several. Null when an entry is malformed
 * or there is no v1 entry to check.
 */
function parseV1Signatures(value: string): Buffer[] | null {
  const signatures: Buffer[] = [];
  for (const entry of value.split(' ')) {
    if (!entry) continue;
    const separator = entry.indexOf(',');
    if (separator <= 0) return null;
    if (entry.slice(0, separator) !== 'v1') continue;
    const signature = fromBase64(entry.slice(separator + 1));
    if (!signature) return null;
    signatures.push(signature);
  }
  return signatures.length > 0 ? signatures : null;
}

/**
 * Standard Webhooks (standardwebhooks.com): base64 HMAC-SHA256 of `${id}.${timestamp}.${rawBody}`.
 * The id is signed, so it is a trustworthy event key.
 */
export const standardWebhooksScheme: VerificationScheme = {
  name: 'STANDARD_WEBHOOKS',
  verify({ rawBody, headers, secrets, settings, now }) {
    const id = header(headers, 'id');
    const timestamp = header(headers, 'timestamp');
    const value = header(headers, 'signature');
    if (!id || !timestamp || !value) return { ok: false, code: 'SIGNATURE_MISSING' };
    const signatures = parseV1Signatures(value);
    const seconds = parseUnixSeconds(timestamp);
    if (!signatures || seconds === null) return { ok: false, code: 'SIGNATURE_INVALID' };
    if (!anySecretMatches(secrets.map(signingKey), signatures, [id, '.', timestamp, '.', rawBody])) {
      return { ok: false, code: 'SIGNATURE_INVALID' };
    }
    const stale = timestampFailure(seconds, now, settings.toleranceSeconds);
    return stale ? { ok: false, code: stale } : { ok: true, eventKey: id };
  },
  sign(body, { secret, id, now }) {
    const timestamp = String(Math.floor(now.getTime() / 1000));
    const signature = hmacSha256(signingKey(secret), `${id}.${timestamp}.`, body).toString('base64');
    return { headers: { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` }, body, contentType: 'application/json' };
  },
};
