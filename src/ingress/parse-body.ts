import { MAX_JSON_DEPTH, mayNestDeeperThan } from '../json/scan-json.js';
import { FORM_CONTENT_TYPE, parseFormBody } from './form-body.js';
import type { BodyKind } from './schemes/types.js';

const JSON_CONTENT_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;

/** Which of the preset's body kinds a content type names, or null when the preset does not take it. */
export function bodyKindOf(contentType: string, accepted: readonly BodyKind[] = ['json']): BodyKind | null {
  if (JSON_CONTENT_TYPE.test(contentType)) return accepted.includes('json') ? 'json' : null;
  if (FORM_CONTENT_TYPE.test(contentType)) return accepted.includes('form') ? 'form' : null;
  return null;
}

export function mediaTypeMessage(accepted: readonly BodyKind[] = ['json']): string {
  const names = accepted.map((kind) => (kind === 'json' ? 'application/json' : 'application/x-www-form-urlencoded'));
  return `content-type must be ${names.join(' or ')}`;
}

export type ParsedBody = { ok: true; payload: object } | { ok: false; message: string };

/**
 * The body as the object stored in `payload`: JSON (an object, or an array where the provider
 * batches events), or a form's fields. Depth is checked before JSON.parse, which recurses: a deep
 * body costs one flat pass over its bytes, no more.
 */
export function parseWebhookBody(rawBody: Buffer, kind: BodyKind, acceptsArrays = false): ParsedBody {
  if (kind === 'form') return { ok: true, payload: parseFormBody(rawBody) };
  if (mayNestDeeperThan(rawBody, MAX_JSON_DEPTH)) {
    return { ok: false, message: `body is nested deeper than ${MAX_JSON_DEPTH} levels` };
  }
  let payload: unknown;
  try {
    payload = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return { ok: false, message: 'body is not valid JSON' };
  }
  if (payload === null || typeof payload !== 'object' || (Array.isArray(payload) && !acceptsArrays)) {
    return { ok: false, message: acceptsArrays ? 'body must be a JSON object or array' : 'body must be a JSON object' };
  }
  return { ok: true, payload };
}
