import { anyTokenMatches } from './constant-time.js';
import { headerOf } from './signature-readers.js';
import type { VerificationScheme } from './types.js';

const BASIC = /^basic\s+/i;

/**
 * Postmark ("Webhooks overview", protecting your webhook): Postmark signs nothing; it sends the
 * credentials put in the webhook URL (`https://user:password@…`) as HTTP basic auth. The
 * integration's secret is `user:password`, compared in constant time.
 */
export const postmarkScheme: VerificationScheme = {
  name: 'POSTMARK',
  defaultEventTypePath: '$.RecordType',
  verify({ headers, secrets }) {
    const value = headerOf(headers, 'authorization');
    if (!value) return { ok: false, code: 'SIGNATURE_MISSING' };
    if (!BASIC.test(value)) return { ok: false, code: 'SIGNATURE_INVALID' };
    const credentials = Buffer.from(value.replace(BASIC, ''), 'base64').toString('utf8');
    return anyTokenMatches(secrets, credentials) ? { ok: true } : { ok: false, code: 'SIGNATURE_INVALID' };
  },
  sign: (body, options) => ({
    headers: { authorization: `Basic ${Buffer.from(options.secret, 'utf8').toString('base64')}` },
    body,
    contentType: 'application/json',
  }),
};
