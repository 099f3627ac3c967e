import { hmacPreset } from './hmac-preset.js';
import { encodedHeader, field } from './signature-readers.js';

/**
 * LINE Messaging API ("Verify webhook signature"): `x-line-signature` is the base64 HMAC-SHA256 of
 * the raw body keyed with the channel secret. The console's "Verify" button sends a signed body
 * whose `events` is empty and expects 200: that is answered as a handshake, not stored.
 */
export const lineScheme = hmacPreset({
  name: 'LINE',
  defaultEventKeyPath: '$.events[0].webhookEventId',
  defaultEventTypePath: '$.events[0].type',
  read: encodedHeader('x-line-signature', 'base64'),
  signed: (input) => [input.rawBody],
  write: (signature) => ({ 'x-line-signature': signature.toString('base64') }),
  handshake(payload) {
    const events = field(payload, 'events');
    return Array.isArray(events) && events.length === 0 ? { kind: 'line.verify', status: 200, headers: {}, body: '' } : null;
  },
});
