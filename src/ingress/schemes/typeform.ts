import { hmacPreset } from './hmac-preset.js';
import { encodedHeader } from './signature-readers.js';

/**
 * Typeform ("Secure your webhooks"): `typeform-signature: sha256=<base64>`, the HMAC-SHA256 of the raw
 * body keyed with the webhook's secret. No timestamp is signed.
 */
export const typeformScheme = hmacPreset({
  name: 'TYPEFORM',
  defaultEventKeyPath: '$.event_id',
  defaultEventTypePath: '$.event_type',
  read: encodedHeader('typeform-signature', 'base64', 'sha256='),
  signed: (input) => [input.rawBody],
  write: (signature) => ({ 'typeform-signature': `sha256=${signature.toString('base64')}` }),
});
