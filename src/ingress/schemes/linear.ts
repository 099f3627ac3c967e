import { hmacPreset } from './hmac-preset.js';
import { encodedHeader, field, headerOf, millisecondsToSeconds } from './signature-readers.js';

/**
 * Linear ("Webhooks", securing webhooks): `linear-signature` is the hex HMAC-SHA256 of the raw body.
 * The freshness proof is `webhookTimestamp` (milliseconds) inside the signed body, which Linear
 * asks receivers to check; `linear-delivery` identifies the delivery and `linear-event` its type.
 */
export const linearScheme = hmacPreset({
  name: 'LINEAR',
  read: (input) => {
    const presented = encodedHeader('linear-signature', 'hex')(input);
    if (typeof presented === 'string') return presented;
    const timestamp = field(input.payload?.(), 'webhookTimestamp');
    return typeof timestamp === 'number' ? { ...presented, timestamp: String(timestamp) } : presented;
  },
  seconds: millisecondsToSeconds,
  signed: (input) => [input.rawBody],
  found: (headers) => ({ eventKey: headerOf(headers, 'linear-delivery'), eventType: headerOf(headers, 'linear-event') }),
  sampleTimestamp: null,
  write: (signature, _timestamp, options) => ({ 'linear-signature': signature.toString('hex'), 'linear-delivery': options.id, 'linear-event': 'Issue' }),
  sampleBody: (body, _mac, options) => {
    const payload = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    return 'webhookTimestamp' in payload ? body : Buffer.from(JSON.stringify({ ...payload, webhookTimestamp: options.now.getTime() }));
  },
});
