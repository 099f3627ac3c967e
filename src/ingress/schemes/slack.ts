import { anySecretMatches, fromHex } from './constant-time.js';
import { parseUnixSeconds, timestampFailure } from './timestamp-tolerance.js';
import type { VerificationScheme } from './types.js';

const PREFIX = 'v0=';

/**
 * Slack: `x-slack-signature: v0=<hex>` of `v0:${x-slack-request-timestamp}:${rawBody}`, keyed with
 * the app's signing secret. The Events API puts `event_id` and `event.type` in the body.
 */
export const slackScheme: VerificationScheme = {
  name: 'SLACK',
  defaultEventKeyPath: '$.event_id',
  defaultEventTypePath: '$.event.type',
  verify({ rawBody, headers, secrets, settings, now }) {
    const value = headers['x-slack-signature']?.trim();
    const timestamp = headers['x-slack-request-timestamp']?.trim();
    if (!value || !timestamp) return { ok: false, code: 'SIGNATURE_MISSING' };
    const signature = value.startsWith(PREFIX) ? fromHex(value.slice(PREFIX.length)) : null;
    const seconds = parseUnixSeconds(timestamp);
    if (!signature || seconds === null) return { ok: false, code: 'SIGNATURE_INVALID' };
    // The timestamp is signed as the text Slack sent, so it is used verbatim.
    if (!anySecretMatches(secrets, signature, ['v0:', timestamp, ':', rawBody])) {
      return { ok: false, code: 'SIGNATURE_INVALID' };
    }
    const stale = timestampFailure(seconds, now, settings.toleranceSeconds);
    return stale ? { ok: false, code: stale } : { ok: true };
  },
};
