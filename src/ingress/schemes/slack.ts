import { anySecretMatches, fromHex, hmacSha256 } from './constant-time.js';
import { sampleBodyFor, samplePayload } from './sample.js';
import { field } from './signature-readers.js';
import { parseUnixSeconds, timestampFailure } from './timestamp-tolerance.js';
import type { VerificationScheme } from './types.js';

const PREFIX = 'v0=';

/**
 * Slack: `x-slack-signature: v0=<hex>` of `v0:${x-slack-request-timestamp}:${rawBody}`, keyed with
 * the app's signing secret. The Events API puts `event_id` and `event.type` in the body; slash
 * commands and interactivity post forms. Saving an Events API request URL sends a signed
 * `url_verification` whose `challenge` must come back as the response body ("Using the Slack
 * Events API": plain text is one of the accepted forms).
 */
export const slackScheme: VerificationScheme = {
  name: 'SLACK',
  bodyKinds: ['json', 'form'],
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
  handshake(payload) {
    const challenge = field(payload, 'challenge');
    if (field(payload, 'type') !== 'url_verification' || typeof challenge !== 'string') return null;
    return { kind: 'slack.url_verification', status: 200, headers: { 'content-type': 'text/plain' }, body: challenge };
  },
  sign(body, { secret, now }) {
    const timestamp = Math.floor(now.getTime() / 1000);
    const sent = sampleBodyFor(slackScheme, body);
    return {
      headers: { 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': `v0=${hmacSha256(secret, `v0:${timestamp}:`, sent).toString('hex')}` },
      body: sent,
      contentType: samplePayload(slackScheme, sent).contentType,
    };
  },
};
