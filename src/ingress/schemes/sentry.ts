import { hmacPreset } from './hmac-preset.js';
import { encodedHeader, headerOf } from './signature-readers.js';

/**
 * Sentry integration platform ("Webhooks", verifying the signature): `sentry-hook-signature` is the
 * hex HMAC-SHA256 of the body keyed with the integration's client secret. `sentry-hook-timestamp`
 * is not signed, so it proves nothing and is not checked; `request-id` identifies the delivery.
 */
export const sentryScheme = hmacPreset({
  name: 'SENTRY',
  read: encodedHeader('sentry-hook-signature', 'hex'),
  signed: (input) => [input.rawBody],
  found: (headers) => ({ eventKey: headerOf(headers, 'request-id'), eventType: headerOf(headers, 'sentry-hook-resource') }),
  write: (signature, _timestamp, options) => ({ 'sentry-hook-signature': signature.toString('hex'), 'request-id': options.id, 'sentry-hook-resource': 'issue' }),
});
