/**
 * Whether the ingress can publish right now, judged by what its own sends did rather than by
 * whether the broker answers a metadata request (a broker can answer metadata while every
 * produce fails). It logs nothing: the webhook handler logs an event-log outage once when it
 * starts and once, with its count, when it ends (STYLE.md §14).
 */
export interface PublishHealth {
  succeeded(): void;
  failed(): void;
  /** False while sends are failing: the last outcome was a failure within `recentMs`. */
  publishing(): boolean;
}

export function createPublishHealth(options: { recentMs: number; now?: () => number }): PublishHealth {
  const now = options.now ?? Date.now;
  let failingSince: number | undefined;
  let lastFailureAt = 0;

  return {
    succeeded() {
      failingSince = undefined;
    },
    failed() {
      lastFailureAt = now();
      failingSince ??= lastFailureAt;
    },
    publishing() {
      return failingSince === undefined || now() - lastFailureAt >= options.recentMs;
    },
  };
}
