import { hmacPreset } from './hmac-preset.js';
import { encodedHeader, headerOf } from './signature-readers.js';

/**
 * Razorpay ("Validate and Test Webhooks"): `x-razorpay-signature` is the hex HMAC-SHA256 of the
 * raw body keyed with the webhook secret; `x-razorpay-event-id` is the idempotency key Razorpay
 * documents for retries.
 */
export const razorpayScheme = hmacPreset({
  name: 'RAZORPAY',
  defaultEventTypePath: '$.event',
  read: encodedHeader('x-razorpay-signature', 'hex'),
  signed: (input) => [input.rawBody],
  found: (headers) => ({ eventKey: headerOf(headers, 'x-razorpay-event-id') }),
  write: (signature, _timestamp, options) => ({ 'x-razorpay-signature': signature.toString('hex'), 'x-razorpay-event-id': options.id }),
});
