import { anySecretMatches, fromBase64, hmacSha256 } from './constant-time.js';
import type { VerificationScheme } from './types.js';

/**
 * Shopify: `x-shopify-hmac-sha256` is the base64 HMAC-SHA256 of the raw body, keyed with the app's
 * client secret. Shopify signs no timestamp, so there is no freshness check.
 */
export const shopifyScheme: VerificationScheme = {
  name: 'SHOPIFY',
  verify({ rawBody, headers, secrets }) {
    const value = headers['x-shopify-hmac-sha256']?.trim();
    if (!value) return { ok: false, code: 'SIGNATURE_MISSING' };
    const signature = fromBase64(value);
    if (!signature) return { ok: false, code: 'SIGNATURE_INVALID' };
    if (!anySecretMatches(secrets, signature, [rawBody])) return { ok: false, code: 'SIGNATURE_INVALID' };
    return {
      ok: true,
      // The webhook id is what Shopify documents for spotting duplicates (it survives retries); the
      // event id is shared by every subscription one event triggers, so it is only the fallback.
      eventKey: headers['x-shopify-webhook-id'] || headers['x-shopify-event-id'] || undefined,
      eventType: headers['x-shopify-topic'] || undefined,
    };
  },
  sign: (body, { secret, id }) => ({
    headers: { 'x-shopify-hmac-sha256': hmacSha256(secret, body).toString('base64'), 'x-shopify-webhook-id': id, 'x-shopify-topic': 'hookgate/test' },
    body,
    contentType: 'application/json',
  }),
};
