import type { Logger } from './log.js';

/**
 * One log line when a dependency goes away and one when it returns, with what the outage cost
 * (STYLE.md §14) — not one per request: with Redis down, a warning per webhook was 60 lines a
 * second at modest load. `failed` is called on every failure, `succeeded` on every success.
 */
export interface OutageLog {
  failed(error: unknown, fields?: Record<string, unknown>): void;
  succeeded(): void;
  /** Failures counted in the current outage (0 when the dependency is fine). */
  readonly failures: number;
}

export function createOutageLog(log: Logger, what: string, options: { consequence: string; now?: () => number }): OutageLog {
  const now = options.now ?? Date.now;
  let failures = 0;
  let since = 0;
  return {
    failed(error, fields = {}) {
      failures += 1;
      if (failures > 1) return;
      since = now();
      log.warn({ dependency: what, ...fields, err: error instanceof Error ? error.message : String(error) }, `${what} unavailable; ${options.consequence}`);
    },
    succeeded() {
      if (failures === 0) return;
      log.info({ dependency: what, failures, durationMs: now() - since }, `${what} available again after ${failures} failures`);
      failures = 0;
    },
    get failures() {
      return failures;
    },
  };
}
