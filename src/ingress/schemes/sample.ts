import { parseFormBody, toFormBody } from '../form-body.js';
import type { VerificationScheme } from './types.js';

/**
 * The body a sample carries and its parsed view. `hookgate send` reads a JSON file; a preset whose
 * provider posts forms (Twilio) gets that JSON object form-encoded, as the provider would send it.
 */
export function samplePayload(scheme: Pick<VerificationScheme, 'bodyKinds'>, body: Buffer): { payload: unknown; contentType: string } {
  if (scheme.bodyKinds?.[0] === 'form') return { payload: parseFormBody(body), contentType: 'application/x-www-form-urlencoded' };
  try {
    return { payload: JSON.parse(body.toString('utf8')) as unknown, contentType: 'application/json' };
  } catch {
    return { payload: undefined, contentType: 'application/json' };
  }
}

/** A JSON object body turned into the form a form-posting provider sends; other bodies as they are. */
export function sampleBodyFor(scheme: Pick<VerificationScheme, 'bodyKinds'>, body: Buffer): Buffer {
  if (scheme.bodyKinds?.[0] !== 'form') return body;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return toFormBody(parsed as Record<string, unknown>);
  } catch {
    // Not JSON: taken to be a form body already.
  }
  return body;
}
