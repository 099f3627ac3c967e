import { anySecretMatches, fromHex, hmacSha256 } from './constant-time.js';
import type { VerificationScheme } from './types.js';

/** Generic partner scheme ("acme"): hex HMAC-SHA256 of the raw body, optionally prefixed `sha256=`. */
export const hmacSha256Scheme: VerificationScheme = {
  name: 'HMAC_SHA256',
  defaultHeader: 'x-acme-signature',
  verify({ rawBody, headers, secrets, settings }) {
    const value = headers[(settings.header ?? 'x-acme-signature').toLowerCase()]?.trim();
    if (!value) return { ok: false, code: 'SIGNATURE_MISSING' };
    const signature = fromHex(value.startsWith('sha256=') ? value.slice('sha256='.length) : value);
    if (!signature) return { ok: false, code: 'SIGNATURE_INVALID' };
    return anySecretMatches(secrets, signature, [rawBody]) ? { ok: true } : { ok: false, code: 'SIGNATURE_INVALID' };
  },
  sign: (body, { secret, settings }) => ({
    headers: { [settings.header ?? 'x-acme-signature']: `sha256=${hmacSha256(secret, body).toString('hex')}` },
    body,
    contentType: 'application/json',
  }),
};
