import type { Logger } from '../log.js';
import type { Coordination, MessageHandler } from './coordination.js';

/**
 * The embedded coordination adapter (DESIGN.md §4): markers, locks, rate-limit buckets and
 * pub/sub for one process, in memory. It follows the Redis adapter's semantics so the same
 * contract suite passes against both; what it cannot give is sharing between processes.
 */
export interface MemoryCoordinationOptions {
  /** The clock, in milliseconds; tests pass their own. */
  now?: () => number;
  /** How often expired entries are swept; reads also ignore them, so this only bounds memory. */
  sweepIntervalMs?: number;
  /** Where a subscriber's exception is reported (it never reaches the publisher). */
  log?: Logger;
}

interface Lock {
  owner: string;
  expiresAt: number;
}

interface Bucket {
  /** GCRA's "theoretical arrival time" of the next request. */
  tat: number;
  expiresAt: number;
}

interface Subscription {
  handler: MessageHandler;
  active: boolean;
}

export function createMemoryCoordination(options: MemoryCoordinationOptions = {}): Coordination {
  const now = options.now ?? Date.now;
  const markers = new Map<string, number>();
  const locks = new Map<string, Lock>();
  const buckets = new Map<string, Bucket>();
  /** Per key: holder → expiry. */
  const permits = new Map<string, Map<string, number>>();
  const channels = new Map<string, Set<Subscription>>();
  let closed = false;

  const live = (expiresAt: number | undefined, at: number) => expiresAt !== undefined && expiresAt > at;

  const sweep = () => {
    const at = now();
    for (const [id, expiresAt] of markers) if (!live(expiresAt, at)) markers.delete(id);
    for (const [id, lock] of locks) if (!live(lock.expiresAt, at)) locks.delete(id);
    for (const [key, bucket] of buckets) if (!live(bucket.expiresAt, at)) buckets.delete(key);
    for (const [key, holders] of permits) {
      for (const [holder, expiresAt] of holders) if (!live(expiresAt, at)) holders.delete(holder);
      if (holders.size === 0) permits.delete(key);
    }
  };
  const sweeper = setInterval(sweep, options.sweepIntervalMs ?? 30_000);
  // The sweep only frees memory; it must not keep the process alive.
  sweeper.unref();

  // Like a closed Redis connection: a caller that outlives close() hears about it.
  const ensureOpen = () => {
    if (closed) throw new Error('memory coordination is closed');
  };

  // The same GCRA as the Redis script: emission interval periodMs/limit, tolerance periodMs.
  const takeTokens = (key: string, limit: number, periodMs: number, wanted: number) => {
    ensureOpen();
    const at = now();
    const interval = periodMs / limit;
    const stored = buckets.get(key);
    const tat = stored && live(stored.expiresAt, at) ? Math.max(stored.tat, at) : at;
    const granted = Math.min(wanted, Math.floor((at + periodMs - tat) / interval + 1e-9));
    if (granted < 1) return { granted: 0, retryAfterMs: Math.ceil(tat + interval - periodMs - at), takenUntil: 0 };
    const nextTat = tat + granted * interval;
    buckets.set(key, { tat: nextTat, expiresAt: at + Math.ceil(nextTat - at) });
    return { granted, retryAfterMs: 0, takenUntil: nextTat };
  };

  const deliver = (subscription: Subscription, message: string) => {
    if (!subscription.active) return;
    try {
      subscription.handler(message);
    } catch (error) {
      options.log?.warn({ component: 'memory-coordination', err: (error as Error).message }, 'subscriber failed on a message');
    }
  };

  return {
    async ping() {
      ensureOpen();
    },
    async claimForStorage(ids, owner, ttlMs) {
      ensureOpen();
      const at = now();
      // As the Redis script: a marker first, then SET NX (a held lock is refused even to its own owner).
      return ids.map((id) => {
        if (live(markers.get(id), at)) return 'stored';
        if (live(locks.get(id)?.expiresAt, at)) return 'busy';
        locks.set(id, { owner, expiresAt: at + ttlMs });
        return 'claimed';
      });
    },
    async settleClaims(stored, release, owner, ttlSeconds) {
      ensureOpen();
      const at = now();
      for (const id of stored) markers.set(id, at + ttlSeconds * 1000);
      for (const id of release) {
        const lock = locks.get(id);
        if (lock && lock.owner === owner && live(lock.expiresAt, at)) locks.delete(id);
      }
    },
    async consumeRateLimit(key, limit, periodMs) {
      const { granted, retryAfterMs } = takeTokens(key, limit, periodMs, 1);
      return { allowed: granted === 1, retryAfterMs };
    },
    async takeRateTokens(key, limit, periodMs, wanted) {
      return takeTokens(key, limit, periodMs, Math.max(1, Math.floor(wanted)));
    },
    async returnRateTokens(key, limit, periodMs, count, takenUntil) {
      ensureOpen();
      const at = now();
      const interval = periodMs / limit;
      const credit = Math.min(Math.floor(count), Math.floor((takenUntil - at) / interval));
      const stored = buckets.get(key);
      if (credit < 1 || !stored || !live(stored.expiresAt, at)) return;
      const tat = stored.tat - credit * interval;
      if (tat <= at) buckets.delete(key);
      else buckets.set(key, { tat, expiresAt: at + Math.ceil(tat - at) });
    },
    async acquirePermit(key, holder, limit, ttlMs) {
      ensureOpen();
      // As the Redis script: expired permits first, then a holder's own, then a free one.
      const at = now();
      const holders = permits.get(key) ?? new Map<string, number>();
      for (const [other, expiresAt] of holders) if (!live(expiresAt, at)) holders.delete(other);
      if (!holders.has(holder) && holders.size >= limit) return false;
      holders.set(holder, at + ttlMs);
      permits.set(key, holders);
      return true;
    },
    async releasePermit(key, holder) {
      ensureOpen();
      const holders = permits.get(key);
      holders?.delete(holder);
      if (holders?.size === 0) permits.delete(key);
    },
    async publish(channel, message) {
      ensureOpen();
      // Handlers run later, never on the publisher's stack, and in publish order (microtasks are FIFO).
      for (const subscription of channels.get(channel) ?? []) queueMicrotask(() => deliver(subscription, message));
    },
    async subscribe(channel, handler) {
      ensureOpen();
      const subscription: Subscription = { handler, active: true };
      let set = channels.get(channel);
      if (!set) {
        set = new Set();
        channels.set(channel, set);
      }
      set.add(subscription);
      return async () => {
        // Also drops messages published before but not yet delivered.
        subscription.active = false;
        const current = channels.get(channel);
        current?.delete(subscription);
        if (current?.size === 0) channels.delete(channel);
      };
    },
    async close() {
      closed = true;
      clearInterval(sweeper);
      for (const set of channels.values()) for (const subscription of set) subscription.active = false;
      channels.clear();
      markers.clear();
      locks.clear();
      buckets.clear();
      permits.clear();
    },
  };
}
