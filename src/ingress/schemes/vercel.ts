import { hmacPreset } from './hmac-preset.js';
import { encodedHeader } from './signature-readers.js';

/**
 * Vercel ("Webhooks", securing webhooks): `x-vercel-signature` is the hex HMAC-SHA1 of the raw body
 * keyed with the webhook secret (integration client secret for integrations).
 */
export const vercelScheme = hmacPreset({
  name: 'VERCEL',
  algorithm: 'sha1',
  defaultEventKeyPath: '$.id',
  defaultEventTypePath: '$.type',
  read: encodedHeader('x-vercel-signature', 'hex'),
  signed: (input) => [input.rawBody],
  write: (signature) => ({ 'x-vercel-signature': signature.toString('hex') }),
});
