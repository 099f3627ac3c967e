import { fromBase64 } from './constant-time.js';
import { hmacPreset } from './hmac-preset.js';
import { encodedHeader } from './signature-readers.js';

/**
 * Microsoft Teams outgoing webhooks ("Create Outgoing Webhooks"): `authorization: HMAC <base64>`,
 * the HMAC-SHA256 of the raw body keyed with the base64-decoded security token Teams shows once.
 */
export const microsoftTeamsScheme = hmacPreset({
  name: 'MICROSOFT_TEAMS',
  defaultEventKeyPath: '$.id',
  defaultEventTypePath: '$.type',
  read: encodedHeader('authorization', 'base64', 'HMAC '),
  key: (secret) => fromBase64(secret) ?? Buffer.from(secret, 'utf8'),
  signed: (input) => [input.rawBody],
  write: (signature) => ({ authorization: `HMAC ${signature.toString('base64')}` }),
});
