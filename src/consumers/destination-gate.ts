import type { Coordination } from '../ports/coordination.js';

/**
 * Per-destination admission for one delivery worker (issue 14): an adaptive concurrency window
 * (AIMD) kept by this worker, and — for destinations that set them — `maxConcurrency` and
 * `maxPerSecond` enforced across every worker through the coordination port (permits and a GCRA
 * bucket). A delivery that is not admitted waits (the worker holds it, unsent: no attempt is spent)
 * and its destination is left out of the next claims, so other destinations' work goes on.
 *
 * The window follows the destination's health, as TCP's does: it starts small (2, or 1 after an
 * unpark) and grows by one per success — doubling per round of requests — until the first overload
 * (slow start); from then on +1/window per success (about +1 per round), and halved on overload
 * (429, 503, timeouts, connection failures) at most once per round: a decrease only counts for
 * attempts that started after the previous one. So a destination that hangs holds at most a slot or
 * two of a worker, a healthy one reaches the cap within a few rounds, and a recovering one gets its
 * backlog at a rate that ramps up.
 */
export type Admission = { admitted: true } | { admitted: false; retryInMs: number };

export interface GatedDelivery {
  id: string;
  destinationId: string;
  maxConcurrency: number | null;
  maxPerSecond: number | null;
}

export type AttemptSignal = 'success' | 'overload' | 'neutral';

/** A destination this worker has not sent to yet starts here (slow start). */
const INITIAL_WINDOW = 2;

interface Window {
  size: number;
  /** Until the first overload the window doubles per round. */
  slowStart: boolean;
  inFlight: number;
  /** When the window was last halved: overload from attempts started before it is not counted again. */
  decreasedAt: number;
}

/** Statuses that say "too much" (RFC 9110 429/503) and error classes that usually mean the same. */
export function signalOf(outcome: { statusCode?: number | null; errorClass?: string | null }): AttemptSignal {
  const { statusCode, errorClass } = outcome;
  if (statusCode === 429 || statusCode === 503) return 'overload';
  if (errorClass === 'TIMEOUT' || errorClass === 'CONNECTION_REFUSED' || errorClass === 'CONNECTION_RESET') return 'overload';
  if (statusCode != null && statusCode >= 200 && statusCode < 300) return 'success';
  return 'neutral';
}

export function createDestinationGate(deps: {
  coordination: Pick<Coordination, 'acquirePermit' | 'releasePermit' | 'consumeRateLimit'>;
  /** The worker's own concurrency: the window's cap when the destination sets none. */
  workerConcurrency: number;
  /** How long a global permit outlives a crashed holder (the lease). */
  permitTtlMs: number;
  now?: () => number;
}) {
  const now = deps.now ?? Date.now;
  const windows = new Map<string, Window>();
  const capOf = (delivery: GatedDelivery) => Math.min(deps.workerConcurrency, delivery.maxConcurrency ?? Infinity);

  function windowOf(delivery: GatedDelivery): Window {
    let window = windows.get(delivery.destinationId);
    if (!window) {
      window = { size: Math.min(INITIAL_WINDOW, capOf(delivery)), slowStart: true, inFlight: 0, decreasedAt: 0 };
      windows.set(delivery.destinationId, window);
    }
    return window;
  }

  return {
    /** Local first (free), then the shared permit, then the shared rate: each shared step is one round trip. */
    async admit(delivery: GatedDelivery): Promise<Admission> {
      const window = windowOf(delivery);
      window.size = Math.min(window.size, capOf(delivery));
      if (window.inFlight >= Math.max(1, Math.floor(window.size))) return { admitted: false, retryInMs: 0 };
      window.inFlight += 1;
      try {
        if (delivery.maxConcurrency != null) {
          const taken = await deps.coordination.acquirePermit(`destination:${delivery.destinationId}`, delivery.id, delivery.maxConcurrency, deps.permitTtlMs);
          if (!taken) {
            window.inFlight -= 1;
            return { admitted: false, retryInMs: 20 };
          }
        }
        if (delivery.maxPerSecond != null) {
          // Burst of one: at most maxPerSecond (+1) in any one-second window, never a double burst.
          const decision = await deps.coordination.consumeRateLimit(`destination:${delivery.destinationId}`, 1, 1000 / delivery.maxPerSecond);
          if (!decision.allowed) {
            await this.release(delivery, 'neutral', undefined);
            return { admitted: false, retryInMs: Math.max(1, decision.retryAfterMs) };
          }
        }
      } catch (error) {
        window.inFlight -= 1;
        throw error;
      }
      return { admitted: true };
    },

    /** After the attempt (or instead of it): frees the slot and moves the window. */
    async release(delivery: GatedDelivery, signal: AttemptSignal, startedAt: number | undefined): Promise<void> {
      const window = windowOf(delivery);
      window.inFlight = Math.max(0, window.inFlight - 1);
      const cap = capOf(delivery);
      if (signal === 'success') window.size = Math.min(cap, window.size + (window.slowStart ? 1 : 1 / Math.max(1, window.size)));
      if (signal === 'overload' && (startedAt === undefined || startedAt >= window.decreasedAt)) {
        window.size = Math.max(1, window.size / 2);
        window.slowStart = false;
        window.decreasedAt = now();
      }
      if (delivery.maxConcurrency != null) await deps.coordination.releasePermit(`destination:${delivery.destinationId}`, delivery.id);
    },

    /** After an unpark: drain from one request at a time upwards. */
    rampFromOne(destinationId: string): void {
      const window = windows.get(destinationId);
      if (window) Object.assign(window, { size: 1, slowStart: true });
      else windows.set(destinationId, { size: 1, slowStart: true, inFlight: 0, decreasedAt: now() });
    },

    /** Whether this worker's window for the destination has room (the shared limits may still refuse). */
    hasRoom(destinationId: string): boolean {
      const window = windows.get(destinationId);
      return window === undefined || window.inFlight < Math.max(1, Math.floor(window.size));
    },

    /** The current window of a destination on this worker (for tests, metrics and the API). */
    windowOf(destinationId: string): number | undefined {
      const window = windows.get(destinationId);
      return window === undefined ? undefined : Math.floor(window.size);
    },
  };
}

export type DestinationGate = ReturnType<typeof createDestinationGate>;
