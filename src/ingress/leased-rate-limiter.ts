import type { Coordination, RateLimitDecision } from '../ports/coordination.js';

/**
 * The ingress rate limit without a Redis round trip per webhook.
 *
 * Each instance takes a block of requests ("a lease") from the shared bucket at once and admits
 * from it locally; what it has not used after `leaseMs` goes back to the bucket. A refusal is
 * remembered locally until the bucket would admit again, so a sender hammering past its limit
 * costs no round trips either.
 *
 * The tolerance, stated. Every request admitted was granted by the shared bucket, and a block
 * given back is credited only for its slots the bucket's schedule has not passed yet, so nothing
 * is counted twice. What leasing adds: a block is spent over up to `leaseMs` after it was taken,
 * so when a bucket fills up, the instances still holding blocks may admit up to one block each
 * beyond the limit within that second; and a block held by one instance is not available to the
 * others, which may refuse early by as much. A block is 1% of the limit (at most `maxBlock`):
 * limits under 100 per period take one request at a time, exactly the shared bucket as before.
 */
export interface LeasedRateLimiterOptions {
  coordination: Pick<Coordination, 'takeRateTokens' | 'returnRateTokens'>;
  /** How long an unused lease is kept before it goes back. */
  leaseMs?: number;
  /** The largest block taken at once, whatever the limit. */
  maxBlock?: number;
  now?: () => number;
}

interface Lease {
  tokens: number;
  limit: number;
  periodMs: number;
  /** When the unused rest goes back to the shared bucket. */
  expiresAt: number;
  /** While the shared bucket refused: until when to refuse locally. */
  refusedUntil: number;
  /** The block being taken now; concurrent requests wait for it instead of taking their own. */
  taking?: Promise<void>;
  /** The last take: how many it granted and its place in the bucket's schedule (for a return). */
  lastGranted: number;
  takenUntil: number;
}

export const BLOCK_SHARE = 0.01;

export function blockSize(limit: number, maxBlock: number): number {
  return Math.max(1, Math.min(maxBlock, Math.floor(limit * BLOCK_SHARE)));
}

export function createLeasedRateLimiter(options: LeasedRateLimiterOptions) {
  const leaseMs = options.leaseMs ?? 1000;
  const maxBlock = options.maxBlock ?? 500;
  const now = options.now ?? Date.now;
  const leases = new Map<string, Lease>();

  // At most the last block goes back, and the bucket credits only its slots still ahead.
  const giveBack = (key: string, lease: Lease) => {
    const unused = Math.min(lease.tokens, lease.lastGranted);
    lease.tokens = 0;
    if (unused > 0) return options.coordination.returnRateTokens(key, lease.limit, lease.periodMs, unused, lease.takenUntil).catch(() => {});
    return Promise.resolve();
  };

  /** Returns expired leases' rest and forgets idle buckets, so the map holds only active senders. */
  const sweep = () => {
    const at = now();
    for (const [key, lease] of leases) {
      if (lease.taking || lease.expiresAt > at || lease.refusedUntil > at) continue;
      void giveBack(key, lease);
      leases.delete(key);
    }
  };
  const sweeper = setInterval(sweep, leaseMs);
  sweeper.unref();

  /** The bucket's lease; a changed limit starts a fresh one and the old one's rest goes back. */
  function leaseFor(key: string, limit: number, periodMs: number): Lease {
    let lease = leases.get(key);
    if (!lease || lease.limit !== limit || lease.periodMs !== periodMs) {
      if (lease) void giveBack(key, lease);
      lease = { tokens: 0, limit, periodMs, expiresAt: 0, refusedUntil: 0, lastGranted: 0, takenUntil: 0 };
      leases.set(key, lease);
    }
    return lease;
  }

  async function take(key: string, lease: Lease): Promise<void> {
    const { granted, retryAfterMs, takenUntil } = await options.coordination.takeRateTokens(key, lease.limit, lease.periodMs, blockSize(lease.limit, maxBlock));
    const at = now();
    if (leases.get(key) !== lease) {
      // The lease was replaced meanwhile (its limit changed): this block goes straight back.
      if (granted > 0) await options.coordination.returnRateTokens(key, lease.limit, lease.periodMs, granted, takenUntil).catch(() => {});
      return;
    }
    lease.tokens += granted;
    if (granted > 0) {
      lease.lastGranted = granted;
      lease.takenUntil = takenUntil;
    }
    lease.expiresAt = at + leaseMs;
    lease.refusedUntil = granted > 0 ? 0 : at + retryAfterMs;
  }

  return {
    /**
     * One request from `key`'s bucket (`limit` per `periodMs`). Rejects when the shared bucket
     * cannot be reached; the caller decides whether that fails open.
     */
    async consume(key: string, limit: number, periodMs: number): Promise<RateLimitDecision> {
      for (;;) {
        const lease = leaseFor(key, limit, periodMs);
        if (lease.tokens > 0) {
          lease.tokens -= 1;
          return { allowed: true, retryAfterMs: 0 };
        }
        const at = now();
        if (lease.refusedUntil > at) return { allowed: false, retryAfterMs: lease.refusedUntil - at };
        lease.taking ??= take(key, lease).finally(() => {
          lease.taking = undefined;
        });
        await lease.taking;
      }
    },
    /** Gives every unused lease back (shutdown). */
    async close(): Promise<void> {
      clearInterval(sweeper);
      await Promise.all([...leases].map(([key, lease]) => giveBack(key, lease)));
      leases.clear();
    },
  };
}

export type LeasedRateLimiter = ReturnType<typeof createLeasedRateLimiter>;
