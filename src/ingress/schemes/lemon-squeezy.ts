import { hmacPreset } from './hmac-preset.js';
import { encodedHeader, headerOf } from './signature-readers.js';

/**
 * Lemon Squeezy ("Signing requests"): `x-signature` is the hex HMAC-SHA256 of the raw body keyed
 * with the webhook's signing secret; `x-event-name` names the event. No timestamp is signed.
 */
export const lemonSqueezyScheme = hmacPreset({
  name: 'LEMON_SQUEEZY',
  read: encodedHeader('x-signature', 'hex'),
  signed: (input) => [input.rawBody],
  found: (headers) => ({ eventType: headerOf(headers, 'x-event-name') }),
  write: (signature) => ({ 'x-signature': signature.toString('hex'), 'x-event-name': 'order_created' }),
});
