import { hash } from 'node:crypto';

/**
 * Reads a value at a simple JSON path: `$.id`, `$.data.object.id`, `$.items[0].id`.
 * Only strings and finite numbers count as keys; anything else is "not found".
 */
export function readJsonPath(payload: unknown, path: string): string | undefined {
  if (!path.startsWith('$')) return undefined;
  const steps = path.slice(1).match(/\.[A-Za-z0-9_-]+|\[\d+\]/g) ?? [];
  if (steps.join('') !== path.slice(1)) return undefined;
  let current: unknown = payload;
  for (const step of steps) {
    if (current === null || typeof current !== 'object') return undefined;
    current = step.startsWith('[')
      ? (current as unknown[])[Number(step.slice(1, -1))]
      : (current as Record<string, unknown>)[step.slice(1)];
  }
  if (typeof current === 'string' && current.length > 0) return current;
  if (typeof current === 'number' && Number.isFinite(current)) return String(current);
  return undefined;
}

export function isValidJsonPath(path: string): boolean {
  const steps = path.slice(1).match(/\.[A-Za-z0-9_-]+|\[\d+\]/g) ?? [];
  return path.startsWith('$') && steps.length > 0 && steps.join('') === path.slice(1);
}

/** The fallback key: two byte-identical bodies are the same event. */
export function bodyHashKey(rawBody: Buffer): string {
  return `sha256:${hash('sha256', rawBody, 'hex')}`;
}

export const MAX_EVENT_KEY_LENGTH = 256;
