import { hmacPreset } from './hmac-preset.js';
import { parameterHeader } from './signature-readers.js';

/**
 * Paddle Billing ("Verify webhook signatures"): `paddle-signature: ts=<unix>;h1=<hex>` where h1 is
 * the HMAC-SHA256 of `${ts}:${rawBody}` keyed with the notification destination's secret key.
 * Several h1 values may be sent while a secret is rotated.
 */
export const paddleScheme = hmacPreset({
  name: 'PADDLE',
  defaultEventKeyPath: '$.event_id',
  defaultEventTypePath: '$.event_type',
  read: parameterHeader('paddle-signature', { separator: ';', timestampKey: 'ts', signatureKey: 'h1', encoding: 'hex' }),
  signed: (input, timestamp) => [timestamp ?? '', ':', input.rawBody],
  write: (signature, timestamp) => ({ 'paddle-signature': `ts=${timestamp};h1=${signature.toString('hex')}` }),
});
