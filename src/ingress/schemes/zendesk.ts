import { hmacPreset } from './hmac-preset.js';
import { encodedHeaderWithTimestamp, headerOf } from './signature-readers.js';

// ISO 8601 in UTC as Zendesk sends it, e.g. 2021-08-25T14:23:59Z (fractions allowed).
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/**
 * Zendesk ("Verifying webhook authenticity"): `x-zendesk-webhook-signature` is the base64
 * HMAC-SHA256 of `${x-zendesk-webhook-signature-timestamp}${rawBody}` keyed with the webhook's
 * signing secret; `x-zendesk-webhook-invocation-id` identifies the invocation across retries.
 */
export const zendeskScheme = hmacPreset({
  name: 'ZENDESK',
  defaultEventTypePath: '$.type',
  read: encodedHeaderWithTimestamp('x-zendesk-webhook-signature', 'x-zendesk-webhook-signature-timestamp', 'base64'),
  seconds: (text) => (ISO_UTC.test(text) ? Math.floor(Date.parse(text) / 1000) : null),
  signed: (input, timestamp) => [timestamp ?? '', input.rawBody],
  found: (headers) => ({ eventKey: headerOf(headers, 'x-zendesk-webhook-invocation-id') }),
  sampleTimestamp: (now) => `${now.toISOString().slice(0, 19)}Z`,
  write: (signature, timestamp, options) => ({
    'x-zendesk-webhook-signature': signature.toString('base64'),
    'x-zendesk-webhook-signature-timestamp': timestamp ?? '',
    'x-zendesk-webhook-invocation-id': options.id,
  }),
});
