import { isUtf8 } from 'node:buffer';
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

/**
 * Whether the text the payload was read from says exactly which bytes were sent: decoding turns
 * each invalid UTF-8 sequence into U+FFFD, in the body's bytes and, for a form, again in its
 * percent escapes (the body is read as UTF-8 first, then the escapes are decoded). The whole body
 * is checked, not only the key's bytes: a key with a real U+FFFD in a body with invalid bytes
 * elsewhere is refused too, which errs on the safe side.
 */
export function bodyTextIsExact(rawBody: Buffer, kind: BodyKind): boolean {
  return isUtf8(rawBody) && (kind !== 'form' || isUtf8(formBytes(rawBody)));
}

const hexValue = (byte: number): number => {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
};

/** A form body's bytes with its `%XX` escapes decoded (and `+` as a space), as URLSearchParams reads them. */
function formBytes(rawBody: Buffer): Buffer {
  const out = Buffer.allocUnsafe(rawBody.length);
  let length = 0;
  for (let at = 0; at < rawBody.length; at++) {
    const byte = rawBody[at]!;
    const high = byte === 0x25 && at + 2 < rawBody.length ? hexValue(rawBody[at + 1]!) : -1;
    const low = high >= 0 ? hexValue(rawBody[at + 2]!) : -1;
    if (low >= 0) {
      out[length++] = high * 16 + low;
      at += 2;
    } else {
      out[length++] = byte === 0x2b ? 0x20 : byte;
    }
  }
  return out.subarray(0, length);
}
