import { constantTimeEqual } from './constant-time.js';
import type { VerificationScheme } from './types.js';

/** Partner scheme ("globex"): a static token in a header. Weaker than a signature: it does not bind the body. */
export const sharedTokenScheme: VerificationScheme = {
  name: 'SHARED_TOKEN',
  defaultHeader: 'x-globex-token',
  verify({ headers, secrets, settings }) {
    const token = headers[(settings.header ?? 'x-globex-token').toLowerCase()];
    if (!token) return { ok: false, code: 'SIGNATURE_MISSING' };
    const presented = Buffer.from(token, 'utf8');
    let matched = false;
    for (const secret of secrets) {
      if (constantTimeEqual(presented, Buffer.from(secret, 'utf8'))) matched = true;
    }
    return matched ? { ok: true } : { ok: false, code: 'SIGNATURE_INVALID' };
  },
  sign: (body, { secret, settings }) => ({ headers: { [settings.header ?? 'x-globex-token']: secret }, body, contentType: 'application/json' }),
};
