import { hmacPreset } from './hmac-preset.js';
import { encodedHeader } from './signature-readers.js';

/**
 * Square ("Verify and Validate an Event Notification"): `x-square-hmacsha256-signature` is the
 * base64 HMAC-SHA256, keyed with the subscription's signature key, of the notification URL
 * followed by the raw body. The URL is the integration's configured public URL.
 */
export const squareScheme = hmacPreset({
  name: 'SQUARE',
  signsUrl: true,
  defaultEventKeyPath: '$.event_id',
  defaultEventTypePath: '$.type',
  read: encodedHeader('x-square-hmacsha256-signature', 'base64'),
  signed: (input) => (input.url ? [input.url, input.rawBody] : null),
  write: (signature) => ({ 'x-square-hmacsha256-signature': signature.toString('base64') }),
});
