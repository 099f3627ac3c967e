/**
 * Lets the first of a run of identical log lines through and holds back the repeats for
 * `windowMs`; the next line let through says how many were held back. A client library that
 * logs every failed request (kafkajs during a broker outage) then costs a few lines, not
 * thousands. Memory stays bounded: old keys are dropped once more than `maxKeys` are held.
 */
export function createRepeatFilter(options: { windowMs: number; maxKeys?: number; now?: () => number }) {
  const now = options.now ?? Date.now;
  const maxKeys = options.maxKeys ?? 500;
  const seen = new Map<string, { at: number; held: number }>();

  return function admit(key: string): { emit: boolean; repeated: number } {
    const at = now();
    const entry = seen.get(key);
    if (entry && at - entry.at < options.windowMs) {
      entry.held += 1;
      return { emit: false, repeated: 0 };
    }
    const repeated = entry?.held ?? 0;
    seen.delete(key);
    seen.set(key, { at, held: 0 });
    if (seen.size > maxKeys) {
      for (const [name, value] of seen) {
        if (seen.size <= maxKeys / 2) break;
        if (at - value.at >= options.windowMs || seen.size > maxKeys) seen.delete(name);
      }
    }
    return { emit: true, repeated };
  };
}
