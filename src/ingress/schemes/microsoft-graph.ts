import { anyTokenMatches } from './constant-time.js';
import { field } from './signature-readers.js';
import type { VerificationScheme } from './types.js';

/**
 * Microsoft Graph change notifications ("Receive change notifications through webhooks"): creating
 * a subscription POSTs `?validationToken=<token>`, which must be echoed within 10 seconds as
 * `text/plain` (an echo proves and reveals nothing, so it is answered before any check). Each
 * notification in `value` then carries the `clientState` the subscription was created with,
 * which is the integration's secret; every one must match.
 */
export const microsoftGraphScheme: VerificationScheme = {
  name: 'MICROSOFT_GRAPH',
  defaultEventTypePath: '$.value[0].changeType',
  challenge({ method, query }) {
    const token = query.get('validationToken');
    if (method !== 'POST' || token === null) return null;
    return { kind: 'microsoft_graph.validation', status: 200, headers: { 'content-type': 'text/plain' }, body: token };
  },
  verify({ payload, secrets }) {
    const items = field(payload?.(), 'value');
    if (!Array.isArray(items) || items.length === 0) return { ok: false, code: 'SIGNATURE_MISSING' };
    let missing = false;
    let matched = true;
    for (const item of items) {
      const state = field(item, 'clientState');
      if (typeof state !== 'string') missing = true;
      else if (!anyTokenMatches(secrets, state)) matched = false;
    }
    if (missing) return { ok: false, code: 'SIGNATURE_MISSING' };
    return matched ? { ok: true } : { ok: false, code: 'SIGNATURE_INVALID' };
  },
  sign(body, options) {
    const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    const items = Array.isArray(parsed.value) ? (parsed.value as Record<string, unknown>[]) : [parsed];
    const signed = { value: items.map((item) => ({ ...item, clientState: options.secret })) };
    return { headers: {}, body: Buffer.from(JSON.stringify(signed)), contentType: 'application/json' };
  },
};
