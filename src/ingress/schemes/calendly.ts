import { hmacPreset } from './hmac-preset.js';
import { parameterHeader } from './signature-readers.js';

/**
 * Calendly ("Webhook signatures"): `calendly-webhook-signature: t=<unix>,v1=<hex>`, the
 * HMAC-SHA256 of `${t}.${rawBody}` keyed with the webhook signing key.
 */
export const calendlyScheme = hmacPreset({
  name: 'CALENDLY',
  defaultEventTypePath: '$.event',
  read: parameterHeader('calendly-webhook-signature', { separator: ',', timestampKey: 't', signatureKey: 'v1', encoding: 'hex' }),
  signed: (input, timestamp) => [timestamp ?? '', '.', input.rawBody],
  write: (signature, timestamp) => ({ 'calendly-webhook-signature': `t=${timestamp},v1=${signature.toString('hex')}` }),
});
