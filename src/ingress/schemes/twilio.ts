import { hmacPreset } from './hmac-preset.js';
import { encodedHeader, headerOf } from './signature-readers.js';
import type { VerificationInput } from './types.js';

/**
 * The text Twilio signs: the URL it called (as configured in its console, query included) followed
 * by every form parameter sorted by name, each name followed by its value; a repeated name gives
 * its distinct values sorted (twilio-node's getExpectedTwilioSignature).
 */
function signedText(input: VerificationInput): string | null {
  if (!input.url) return null;
  const fields = (input.payload?.() ?? {}) as Record<string, string | string[]>;
  let text = input.url;
  for (const name of Object.keys(fields).sort()) {
    const value = fields[name]!;
    for (const item of Array.isArray(value) ? [...new Set(value)].sort() : [value]) text += name + item;
  }
  return text;
}

/**
 * Twilio ("Webhooks security"): `x-twilio-signature` is the base64 HMAC-SHA1, keyed with the auth
 * token, of the URL and the sorted form parameters. Twilio signs no timestamp; its
 * `i-twilio-idempotency-token` header is what it documents for spotting a retried request.
 */
export const twilioScheme = hmacPreset({
  name: 'TWILIO',
  algorithm: 'sha1',
  bodyKinds: ['form'],
  signsUrl: true,
  read: encodedHeader('x-twilio-signature', 'base64'),
  signed: (input) => {
    const text = signedText(input);
    return text === null ? null : [Buffer.from(text, 'utf8')];
  },
  found: (headers) => ({ eventKey: headerOf(headers, 'i-twilio-idempotency-token') }),
  write: (signature, _timestamp, options) => ({ 'x-twilio-signature': signature.toString('base64'), 'i-twilio-idempotency-token': options.id }),
});
