import { hmacPreset } from './hmac-preset.js';
import { encodedHeader } from './signature-readers.js';

/**
 * Segment webhook destination ("Webhooks (Actions)", authentication): `x-signature` is the hex
 * HMAC-SHA1 of the raw body keyed with the shared secret.
 */
export const segmentScheme = hmacPreset({
  name: 'SEGMENT',
  algorithm: 'sha1',
  defaultEventKeyPath: '$.messageId',
  defaultEventTypePath: '$.type',
  read: encodedHeader('x-signature', 'hex'),
  signed: (input) => [input.rawBody],
  write: (signature) => ({ 'x-signature': signature.toString('hex') }),
});
