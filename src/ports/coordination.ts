/**
 * The coordination port (DESIGN.md §4): cheap shared state that speeds things up but is never
 * the source of truth. Losing it may cost work, never correctness — Postgres constraints back it.
 */
export interface RateLimitDecision {
  allowed: boolean;
  /** When refused: how long until one more request would be allowed. */
  retryAfterMs: number;
}

export interface RateTokens {
  granted: number;
  /** When none were granted: how long until one more request would be allowed. */
  retryAfterMs: number;
  /** Opaque (the bucket's schedule after this take, on its own clock): hand it back with returnRateTokens. */
  takenUntil: number;
}

export type MessageHandler = (message: string) => void;

/**
 * What `claimForStorage` found for an id: a "stored" marker (`stored`), a lock it now holds for the
 * caller (`claimed`), or a lock another owner holds (`busy`).
 */
export type ClaimState = 'stored' | 'claimed' | 'busy';

export interface Coordination {
  ping(): Promise<void>;
  /**
   * For each id, in one round trip: `stored` when a marker exists; otherwise tries to lock it for
   * `owner` until `ttlMs` (SET NX: a held lock is refused even to its own owner) — `claimed` when
   * it now does, `busy` when another holds it.
   */
  claimForStorage(ids: string[], owner: string, ttlMs: number): Promise<ClaimState[]>;
  /**
   * After the database committed, in one round trip: marks `stored` ids as stored for
   * `ttlSeconds`, and releases the locks on `release` that `owner` still holds (others' are left).
   */
  settleClaims(stored: string[], release: string[], owner: string, ttlSeconds: number): Promise<void>;
  /**
   * Takes one request from the bucket `key` allowing `limit` per `periodMs` (bursts up to
   * `limit`), atomically and in one round trip, shared by every instance.
   */
  consumeRateLimit(key: string, limit: number, periodMs: number): Promise<RateLimitDecision>;
  /**
   * The same bucket as `consumeRateLimit`, taken in a block: up to `wanted` requests at once (fewer
   * when fewer are left; `granted` 0 with `retryAfterMs` when none are), so an instance can admit
   * many requests per round trip (ingress/leased-rate-limiter.ts).
   */
  takeRateTokens(key: string, limit: number, periodMs: number, wanted: number): Promise<RateTokens>;
  /**
   * Gives back `count` requests of one `takeRateTokens` answer (its `takenUntil`) that were not
   * used; only those whose slots are still ahead are credited, so a return never lets the bucket
   * admit more than its limit.
   */
  returnRateTokens(key: string, limit: number, periodMs: number, count: number, takenUntil: number): Promise<void>;
  /**
   * Takes one of `limit` concurrency permits of `key` for `holder` until `ttlMs` (a crashed holder's
   * permit expires by itself), atomically and shared by every instance. True when taken (or when
   * `holder` already holds one); false when all `limit` are held.
   */
  acquirePermit(key: string, holder: string, limit: number, ttlMs: number): Promise<boolean>;
  /** Gives back `holder`'s permit of `key`; nothing happens when it holds none. */
  releasePermit(key: string, holder: string): Promise<void>;
  publish(channel: string, message: string): Promise<void>;
  /** Returns a function that unsubscribes. */
  subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
