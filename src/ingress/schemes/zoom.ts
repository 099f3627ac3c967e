import { hmacDigest } from './constant-time.js';
import { hmacPreset } from './hmac-preset.js';
import { encodedHeaderWithTimestamp, field } from './signature-readers.js';

/**
 * Zoom ("Using webhooks", verify with Zoom's header): `x-zm-signature: v0=<hex>` of
 * `v0:${x-zm-request-timestamp}:${rawBody}` keyed with the app's secret token. Adding or
 * revalidating the endpoint sends a signed `endpoint.url_validation` event whose `plainToken`
 * must come back within three seconds beside `encryptedToken`, its hex HMAC-SHA256. That reply
 * needs the secret, so it is only given after the request verified (otherwise anyone could
 * use the endpoint to sign their own text).
 */
export const zoomScheme = hmacPreset({
  name: 'ZOOM',
  defaultEventTypePath: '$.event',
  read: encodedHeaderWithTimestamp('x-zm-signature', 'x-zm-request-timestamp', 'hex', 'v0='),
  signed: (input, timestamp) => ['v0:', timestamp ?? '', ':', input.rawBody],
  write: (signature, timestamp) => ({ 'x-zm-signature': `v0=${signature.toString('hex')}`, 'x-zm-request-timestamp': timestamp ?? '' }),
  handshake(payload, input) {
    const plainToken = field(field(payload, 'payload'), 'plainToken');
    if (field(payload, 'event') !== 'endpoint.url_validation' || typeof plainToken !== 'string') return null;
    // The current secret: it is the one Zoom's dashboard holds now.
    const encryptedToken = hmacDigest('sha256', input.secrets[0]!, plainToken).toString('hex');
    return { kind: 'zoom.url_validation', status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ plainToken, encryptedToken }) };
  },
});
