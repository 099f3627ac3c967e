import { hash } from 'node:crypto';

/**
 * Reads a value at a simple JSON path: `$.id`, `$.data.object.id`, `$.items[0].id`.
 * Only non-empty strings and finite numbers count; anything else is "not found". A number comes
 * back as the number JSON.parse made of it: `keyFieldProblem` decides whether it can be a key.
 */
export function readJsonPath(payload: unknown, path: string): string | number | undefined {
  const steps = stepsOf(path);
  if (!steps) return undefined;
  let current: unknown = payload;
  for (const step of steps) {
    if (current === null || typeof current !== 'object') return undefined;
    current = typeof step === 'number' ? (current as unknown[])[step] : (current as Record<string, unknown>)[step];
  }
  if (typeof current === 'string' && current.length > 0) return current;
  if (typeof current === 'number' && Number.isFinite(current)) return current;
  return undefined;
}

/** A path's steps (property names, array indexes), or null when it is not a simple path. */
function parseSteps(path: string): (string | number)[] | null {
  if (!path.startsWith('$')) return null;
  const steps = path.slice(1).match(/\.[A-Za-z0-9_-]+|\[\d+\]/g) ?? [];
  if (steps.join('') !== path.slice(1)) return null;
  return steps.map((step) => (step.startsWith('[') ? Number(step.slice(1, -1)) : step.slice(1)));
}

// Paths come from the integrations' settings and the presets: a few, each parsed once, not per webhook.
const parsedPaths = new Map<string, (string | number)[] | null>();
function stepsOf(path: string): (string | number)[] | null {
  let steps = parsedPaths.get(path);
  if (steps === undefined) {
    steps = parseSteps(path);
    if (parsedPaths.size < 1000) parsedPaths.set(path, steps);
  }
  return steps;
}

export function isValidJsonPath(path: string): boolean {
  const steps = parseSteps(path);
  return steps !== null && steps.length > 0;
}

/** The fallback key: two byte-identical bodies are the same event. */
export function bodyHashKey(rawBody: Buffer): string {
  return `sha256:${hash('sha256', rawBody, 'hex')}`;
}

/** The longest event key, event type or ordering key: each is a text column, the first two indexed. */
export const MAX_KEY_FIELD_LENGTH = 256;

/** Whether `value` has more than `max` characters (an emoji is one, though two UTF-16 code units). */
function longerThan(value: string, max: number): boolean {
  if (value.length <= max) return false;
  let count = 0;
  for (const _character of value) if (++count > max) return true;
  return false;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why a value read for the event key, type or ordering key cannot be stored as one, or null when it
 * can. The event key names the event (its id is derived from it), so it must also say exactly what
 * the provider sent: a number past 2^53 (or with a fraction) would be rounded by JSON.parse, and a
 * U+FFFD may stand for bytes that were not UTF-8; either way two different events would read as
 * one, and the second would be dropped as a duplicate after its 202. For the event key,
 * `exactText` says whether the body's text is exactly its bytes (asked only when the key holds
 * U+FFFD); for the other fields it is null, and neither rule applies.
 */
export function keyFieldProblem(value: string | number, exactText: (() => boolean) | null): string | null {
  if (typeof value === 'number') {
    if (exactText === null || Number.isSafeInteger(value)) return null;
    return `is a number JSON cannot carry exactly (a fraction, or beyond ${Number.MAX_SAFE_INTEGER}); send it as a string`;
  }
  if (longerThan(value, MAX_KEY_FIELD_LENGTH)) return `is longer than ${MAX_KEY_FIELD_LENGTH} characters`;
  if (value.includes('\u0000') || LONE_SURROGATE.test(value)) return 'contains a NUL or an unpaired surrogate';
  if (exactText !== null && value.includes('\uFFFD') && !exactText()) return 'holds bytes that are not valid UTF-8';
  return null;
}
