/**
 * In-process counters (a later issue exposes them as Prometheus metrics). Labels never carry
 * secrets: provider slugs, outcome codes and status classes only.
 */
export interface Counters {
  increment(name: string, labels?: Record<string, string | number>): void;
  snapshot(): Record<string, number>;
}

export function createCounters(): Counters {
  const values = new Map<string, number>();
  return {
    increment(name, labels = {}) {
      const parts = Object.entries(labels)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, value]) => `${key}="${value}"`);
      const key = parts.length > 0 ? `${name}{${parts.join(',')}}` : name;
      values.set(key, (values.get(key) ?? 0) + 1);
    },
    snapshot: () => Object.fromEntries(values),
  };
}
