import type { ClaimedDelivery } from './delivery-store.js';

/**
 * A delivery worker's claimed deliveries that its destination gate did not admit yet (throttled, or
 * at the destination's window), per destination in claim order. They are unsent — no attempt is
 * spent — and their destinations are left out of the worker's claims until their list empties,
 * which is what lets other destinations' work pass a slow or throttled one.
 */
export function createHeldDeliveries(deps: {
  /** Whether one more delivery of the destination may start now (worker slot and window). */
  hasRoom(destinationId: string): boolean;
  /** A held delivery older than this is handed back: its lease must outlast its attempt. */
  maxQueuedMs: number;
  start(delivery: ClaimedDelivery, claimedAt: number): void;
  release(delivery: ClaimedDelivery): void;
}) {
  const held = new Map<string, { delivery: ClaimedDelivery; claimedAt: number }[]>();
  const timers = new Map<string, NodeJS.Timeout>();

  /** Starts a destination's held deliveries, oldest first, while it has room. */
  function startHeld(destinationId: string): void {
    const list = held.get(destinationId);
    if (!list) return;
    // The gate counts a start synchronously (its local window), so this stops at the window's size;
    // a shared limit that refuses puts the delivery back in front, with a timer.
    while (list.length > 0 && deps.hasRoom(destinationId)) {
      const { delivery, claimedAt } = list.shift()!;
      if (Date.now() - claimedAt > deps.maxQueuedMs) deps.release(delivery);
      else deps.start(delivery, claimedAt);
    }
    if (list.length === 0) held.delete(destinationId);
  }

  return {
    has: (destinationId: string) => held.has(destinationId),
    destinations: () => [...held.keys()],

    /** Front: it was the destination's next one (refused by a shared limit); `retryInMs` > 0 sets a timer. */
    holdBack(delivery: ClaimedDelivery, claimedAt: number, retryInMs: number, front: boolean): void {
      const list = held.get(delivery.destinationId) ?? [];
      if (front) list.unshift({ delivery, claimedAt });
      else list.push({ delivery, claimedAt });
      held.set(delivery.destinationId, list);
      if (retryInMs > 0 && !timers.has(delivery.destinationId)) {
        timers.set(
          delivery.destinationId,
          setTimeout(() => {
            timers.delete(delivery.destinationId);
            startHeld(delivery.destinationId);
          }, retryInMs),
        );
      }
    },

    /**
     * Destinations with room now (a slot of theirs just freed). Those waiting for a timer (rate or
     * shared permits) are left to it, so a refusal never turns into a busy loop.
     */
    startReady(): void {
      for (const destinationId of [...held.keys()]) {
        if (!timers.has(destinationId) && deps.hasRoom(destinationId)) startHeld(destinationId);
      }
    },

    /** Held too long to start within the lease: handed back unsent (no attempt spent). */
    releaseStale(): void {
      for (const [destinationId, list] of held) {
        while (list.length > 0 && Date.now() - list[0]!.claimedAt > deps.maxQueuedMs) deps.release(list.shift()!.delivery);
        if (list.length === 0) held.delete(destinationId);
      }
    },

    /** On stop: everything back to the database at once, for any worker to take now. */
    releaseAll(): void {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      for (const list of held.values()) for (const { delivery } of list) deps.release(delivery);
      held.clear();
    },
  };
}
