import { hash } from 'node:crypto';

/**
 * Reads a value at a simple JSON path: `$.id`, `$.data.object.id`, `$.items[0].id`.
 * Only strings and finite numbers count as keys; anything else is "not found".
 */
export function readJsonPath(payload: unknown, path: string): string | undefined {
  const steps = stepsOf(path);
  if (!steps) return undefined;
  let current: unknown = payload;
  for (const step of steps) {
    if (current === null || typeof current !== 'object') return undefined;
    current = typeof step === 'number' ? (current as unknown[])[step] : (current as Record<string, unknown>)[step];
  }
  if (typeof current === 'string' && current.length > 0) return current;
  if (typeof current === 'number' && Number.isFinite(current)) return String(current);
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

export const MAX_EVENT_KEY_LENGTH = 256;
