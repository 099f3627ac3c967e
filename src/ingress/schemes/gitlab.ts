import { anyTokenMatches } from './constant-time.js';
import { headerOf } from './signature-readers.js';
import type { VerificationScheme } from './types.js';

/**
 * GitLab ("Webhooks", validate requests with a secret token): `x-gitlab-token` carries the secret
 * token as it is, compared in constant time. Nothing is signed, so the body is not bound to it.
 * `idempotency-key` (stable across retries, GitLab 17.4+) or `x-gitlab-event-uuid` is the event
 * key, `x-gitlab-event` its type.
 */
export const gitlabScheme: VerificationScheme = {
  name: 'GITLAB',
  verify({ headers, secrets }) {
    const token = headers['x-gitlab-token'];
    if (!token) return { ok: false, code: 'SIGNATURE_MISSING' };
    if (!anyTokenMatches(secrets, token)) return { ok: false, code: 'SIGNATURE_INVALID' };
    const eventKey = headerOf(headers, 'idempotency-key') ?? headerOf(headers, 'x-gitlab-event-uuid');
    const eventType = headerOf(headers, 'x-gitlab-event');
    return { ok: true, ...(eventKey ? { eventKey } : {}), ...(eventType ? { eventType } : {}) };
  },
  sign: (body, options) => ({
    headers: { 'x-gitlab-token': options.secret, 'idempotency-key': options.id, 'x-gitlab-event': 'Push Hook' },
    body,
    contentType: 'application/json',
  }),
};
