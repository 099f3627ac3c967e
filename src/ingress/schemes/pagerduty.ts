import { hmacPreset } from './hmac-preset.js';
import { parameterHeader } from './signature-readers.js';

/**
 * PagerDuty V3 webhooks ("Verifying Signatures"): `x-pagerduty-signature: v1=<hex>[,v1=<hex>…]`,
 * the HMAC-SHA256 of the raw body keyed with the subscription's secret; one v1 per active secret.
 */
export const pagerdutyScheme = hmacPreset({
  name: 'PAGERDUTY',
  defaultEventKeyPath: '$.event.id',
  defaultEventTypePath: '$.event.event_type',
  read: parameterHeader('x-pagerduty-signature', { separator: ',', signatureKey: 'v1', encoding: 'hex' }),
  signed: (input) => [input.rawBody],
  write: (signature) => ({ 'x-pagerduty-signature': `v1=${signature.toString('hex')}` }),
});
