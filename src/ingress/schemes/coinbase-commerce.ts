import { hmacPreset } from './hmac-preset.js';
import { encodedHeader } from './signature-readers.js';

/**
 * Coinbase Commerce ("Webhooks", securing webhooks): `x-cc-webhook-signature` is the hex
 * HMAC-SHA256 of the raw body keyed with the shared webhook secret.
 */
export const coinbaseCommerceScheme = hmacPreset({
  name: 'COINBASE_COMMERCE',
  defaultEventKeyPath: '$.event.id',
  defaultEventTypePath: '$.event.type',
  read: encodedHeader('x-cc-webhook-signature', 'hex'),
  signed: (input) => [input.rawBody],
  write: (signature) => ({ 'x-cc-webhook-signature': signature.toString('hex') }),
});
