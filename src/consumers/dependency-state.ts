import { failureCodeOf } from '../db/failure-kind.js';
import type { Logger } from '../log.js';

/**
 * Logs a dependency's changes of state, not its failures (STYLE.md §14): one warning when it
 * goes away, one line when it is back with what the outage cost, however many attempts lie
 * between. Shared by every partition's batches, so four partitions failing together still log once.
 */
export interface DependencyState {
  /** Call before an attempt; hand the answer to `unavailable` if the attempt fails. */
  attempt(): number;
  /**
   * An attempt failed. One that began before the dependency was last seen back (a partition's
   * call still in flight when another's succeeded) is counted, but opens no new outage.
   */
  unavailable(error: unknown, attempt: number): void;
  available(): void;
}

export function createDependencyState(log: Logger, dependency: string, consequence: string, now: () => number = Date.now): DependencyState {
  let outage: { since: number; failures: number } | undefined;
  // Bumped at each recovery: attempts begun before it saw the old outage, not a new one.
  let recoveries = 0;
  return {
    attempt: () => recoveries,
    unavailable(error, attempt) {
      if (outage) {
        outage.failures++;
        return;
      }
      if (attempt < recoveries) return;
      outage = { since: now(), failures: 1 };
      // The error's code only: a driver's message can quote a statement's parameters.
      log.warn({ dependency, code: failureCodeOf(error) }, `${dependency} unavailable; ${consequence}`);
    },
    available() {
      if (!outage) return;
      log.warn({ dependency, failedAttempts: outage.failures, outageMs: now() - outage.since }, `${dependency} available again`);
      outage = undefined;
      recoveries++;
    },
  };
}
