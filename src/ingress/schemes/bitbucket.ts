import { hmacPreset } from './hmac-preset.js';
import { encodedHeader, headerOf } from './signature-readers.js';

/**
 * Atlassian Bitbucket Cloud ("Manage webhooks", secure webhooks): `x-hub-signature: sha256=<hex>`,
 * the HMAC-SHA256 of the raw body keyed with the webhook secret. `x-request-uuid` identifies the
 * delivery (stable across retries) and `x-event-key` names the event.
 */
export const bitbucketScheme = hmacPreset({
  name: 'BITBUCKET',
  read: encodedHeader('x-hub-signature', 'hex', 'sha256='),
  signed: (input) => [input.rawBody],
  found: (headers) => ({ eventKey: headerOf(headers, 'x-request-uuid'), eventType: headerOf(headers, 'x-event-key') }),
  write: (signature, _timestamp, options) => ({ 'x-hub-signature': `sha256=${signature.toString('hex')}`, 'x-request-uuid': options.id, 'x-event-key': 'repo:push' }),
});
