import { hmacPreset } from './hmac-preset.js';
import { parameterHeader } from './signature-readers.js';

/**
 * Mux ("Verify webhook signatures"): `mux-signature: t=<unix>,v1=<hex>`, the HMAC-SHA256 of
 * `${t}.${rawBody}` keyed with the webhook signing secret.
 */
export const muxScheme = hmacPreset({
  name: 'MUX',
  defaultEventKeyPath: '$.id',
  defaultEventTypePath: '$.type',
  read: parameterHeader('mux-signature', { separator: ',', timestampKey: 't', signatureKey: 'v1', encoding: 'hex' }),
  signed: (input, timestamp) => [timestamp ?? '', '.', input.rawBody],
  write: (signature, timestamp) => ({ 'mux-signature': `t=${timestamp},v1=${signature.toString('hex')}` }),
});
