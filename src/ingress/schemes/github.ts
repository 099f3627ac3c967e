import { anySecretMatches, fromHex, hmacSha256 } from './constant-time.js';
import type { VerificationScheme } from './types.js';

const PREFIX = 'sha256=';

/**
 * GitHub: `x-hub-signature-256: sha256=<hex>` of the raw body. The legacy SHA-1 `x-hub-signature` is
 * never read, so a sender cannot fall back to the weaker hash. GitHub signs no timestamp, so there is
 * no freshness check; the delivery id (stable across redeliveries) is the event key.
 */
export const githubScheme: VerificationScheme = {
  name: 'GITHUB',
  verify({ rawBody, headers, secrets }) {
    const value = headers['x-hub-signature-256']?.trim();
    if (!value) return { ok: false, code: 'SIGNATURE_MISSING' };
    const signature = value.startsWith(PREFIX) ? fromHex(value.slice(PREFIX.length)) : null;
    if (!signature) return { ok: false, code: 'SIGNATURE_INVALID' };
    if (!anySecretMatches(secrets, signature, [rawBody])) return { ok: false, code: 'SIGNATURE_INVALID' };
    return { ok: true, eventKey: headers['x-github-delivery'] || undefined, eventType: headers['x-github-event'] || undefined };
  },
  sign: (body, { secret, id }) => ({
    headers: { 'x-hub-signature-256': `sha256=${hmacSha256(secret, body).toString('hex')}`, 'x-github-delivery': id, 'x-github-event': 'ping' },
    body,
    contentType: 'application/json',
  }),
};
