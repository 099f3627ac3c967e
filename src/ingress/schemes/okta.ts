import { anyTokenMatches } from './constant-time.js';
import { headerOf } from './signature-readers.js';
import type { VerificationScheme } from './types.js';

const CHALLENGE = 'x-okta-verification-challenge';

/**
 * Okta event hooks ("Event hooks", one-time verification request): Okta signs nothing; every request
 * carries the authorization value configured on the hook (header `authorization` unless the
 * integration names another), compared in constant time. Verifying the hook is a GET whose
 * `x-okta-verification-challenge` must be echoed as `{"verification":"…"}`: an echo, so it is
 * answered before any check, as Okta does not promise the credential on that request.
 */
export const oktaScheme: VerificationScheme = {
  name: 'OKTA',
  defaultHeader: 'authorization',
  defaultEventKeyPath: '$.eventId',
  defaultEventTypePath: '$.data.events[0].eventType',
  challenge({ method, headers }) {
    const challenge = headerOf(headers, CHALLENGE);
    if (method !== 'GET' || !challenge) return null;
    return { kind: 'okta.verification', status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ verification: challenge }) };
  },
  verify({ headers, secrets, settings }) {
    const value = headers[settings.header ?? 'authorization'];
    if (!value) return { ok: false, code: 'SIGNATURE_MISSING' };
    return anyTokenMatches(secrets, value) ? { ok: true } : { ok: false, code: 'SIGNATURE_INVALID' };
  },
  sign: (body, options) => ({ headers: { [options.settings.header ?? 'authorization']: options.secret }, body, contentType: 'application/json' }),
};
