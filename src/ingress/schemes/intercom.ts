import { hmacPreset } from './hmac-preset.js';
import { encodedHeader } from './signature-readers.js';

/**
 * Intercom ("Setting up webhooks", signed notifications): `x-hub-signature: sha1=<hex>` is the
 * HMAC-SHA1 of the raw body keyed with the app's client secret. No timestamp is signed.
 */
export const intercomScheme = hmacPreset({
  name: 'INTERCOM',
  algorithm: 'sha1',
  defaultEventKeyPath: '$.id',
  defaultEventTypePath: '$.topic',
  read: encodedHeader('x-hub-signature', 'hex', 'sha1='),
  signed: (input) => [input.rawBody],
  write: (signature) => ({ 'x-hub-signature': `sha1=${signature.toString('hex')}` }),
});
