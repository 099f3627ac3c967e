import type { Logger } from '../log.js';

/**
 * Whether the ingress can publish right now, judged by what its own sends did rather than by
 * whether the broker answers a metadata request (a broker can answer metadata while every
 * produce fails). One log line when publishing starts failing and one when it works again,
 * with what the outage cost — never one per webhook (STYLE.md §14).
 */
export interface PublishHealth {
  succeeded(): void;
  failed(reason: string): void;
  /** False while sends are failing: the last outcome was a failure within `recentMs`. */
  publishing(): boolean;
}

export function createPublishHealth(options: { log: Logger; recentMs: number; now?: () => number }): PublishHealth {
  const now = options.now ?? Date.now;
  let failingSince: number | undefined;
  let lastFailureAt = 0;
  let failures = 0;

  return {
    succeeded() {
      if (failingSince === undefined) return;
      options.log.info({ failedPublishes: failures, downMs: now() - failingSince }, 'publishing to the event log works again');
      failingSince = undefined;
      failures = 0;
    },
    failed(reason) {
      lastFailureAt = now();
      failures += 1;
      if (failingSince !== undefined) return;
      failingSince = lastFailureAt;
      options.log.warn({ reason }, 'publishing to the event log is failing; webhooks are answered 503 until it works');
    },
    publishing() {
      return failingSince === undefined || now() - lastFailureAt >= options.recentMs;
    },
  };
}
