import { checkHealth, type HealthReport } from '../http.js';

/**
 * Readiness: whether this role's dependencies answer right now — the database, Redis, the event
 * log's producer (ingress), and that the persist consumer runs and the delivery loop is alive.
 * The answer is kept for `cacheMs` and concurrent callers share one check in flight, so an
 * unauthenticated caller cannot make every GET fan out to three backends.
 */
export interface Readiness {
  check(): Promise<HealthReport>;
}

export function createReadiness(
  checks: Record<string, () => Promise<unknown>>,
  options: { cacheMs?: number; timeoutMs?: number; now?: () => number } = {},
): Readiness {
  const cacheMs = options.cacheMs ?? 1000;
  const now = options.now ?? Date.now;
  let cached: { at: number; report: Promise<HealthReport> } | undefined;
  return {
    check() {
      const at = now();
      if (!cached || at - cached.at >= cacheMs) {
        const report = checkHealth(checks, options.timeoutMs ?? 1000);
        cached = { at, report };
        // The cache lasts from when the answer came, not from when it was asked.
        void report.then(() => {
          if (cached?.report === report) cached.at = now();
        });
      }
      return cached.report;
    },
  };
}

/** Wraps a synchronous state as a check: `false` reads as down. */
export const stateCheck = (state: () => boolean) => () => Promise.resolve(state());
