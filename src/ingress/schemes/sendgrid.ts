import { fromBase64 } from './constant-time.js';
import { anyKeyVerifies, signWithPrivateKey } from './public-key.js';
import { headerOf } from './signature-readers.js';
import { parseUnixSeconds, timestampFailure } from './timestamp-tolerance.js';
import type { VerificationScheme } from './types.js';

const SIGNATURE = 'x-twilio-email-event-webhook-signature';
const TIMESTAMP = 'x-twilio-email-event-webhook-timestamp';

/**
 * SendGrid Event Webhook ("Getting Started with the Event Webhook Security Features"): an ECDSA
 * P-256 signature (base64 DER) over `${timestamp}${rawBody}`, checked with the public key SendGrid
 * shows (base64 DER), which the integration configures as its key. The body is a JSON array of events.
 */
export const sendgridScheme: VerificationScheme = {
  name: 'SENDGRID',
  acceptsArrays: true,
  publicKey: 'ecdsa-p256',
  defaultEventTypePath: '$[0].event',
  verify({ rawBody, headers, secrets, settings, now }) {
    const value = headerOf(headers, SIGNATURE);
    const timestamp = headerOf(headers, TIMESTAMP);
    if (!value || !timestamp) return { ok: false, code: 'SIGNATURE_MISSING' };
    const signature = fromBase64(value);
    const seconds = parseUnixSeconds(timestamp);
    if (!signature || seconds === null) return { ok: false, code: 'SIGNATURE_INVALID' };
    if (!anyKeyVerifies(secrets, 'ecdsa-p256', Buffer.concat([Buffer.from(timestamp), rawBody]), signature)) {
      return { ok: false, code: 'SIGNATURE_INVALID' };
    }
    const stale = timestampFailure(seconds, now, settings.toleranceSeconds);
    return stale ? { ok: false, code: stale } : { ok: true };
  },
  sign(body, options) {
    const timestamp = String(Math.floor(options.now.getTime() / 1000));
    const signature = signWithPrivateKey('ecdsa-p256', options.secret, Buffer.concat([Buffer.from(timestamp), body]));
    return { headers: { [SIGNATURE]: signature.toString('base64'), [TIMESTAMP]: timestamp }, body: body, contentType: 'application/json' };
  },
};
