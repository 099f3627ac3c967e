/**
 * The coordination port (DESIGN.md §4): cheap shared state that speeds things up but is never
 * the source of truth. Losing it may cost work, never correctness — Postgres constraints back it.
 */
export interface RateLimitDecision {
  allowed: boolean;
  /** When refused: how long until one more request would be allowed. */
  retryAfterMs: number;
}

export type MessageHandler = (message: string) => void;

export interface Coordination {
  ping(): Promise<void>;
  /** For each id, whether a "stored" marker exists. */
  markersExist(ids: string[]): Promise<boolean[]>;
  /** Marks ids as stored, for `ttlSeconds`. */
  setMarkers(ids: string[], ttlSeconds: number): Promise<void>;
  /** Tries to lock each id for `owner` until `ttlMs`; true where this owner now holds the lock. */
  acquireLocks(ids: string[], owner: string, ttlMs: number): Promise<boolean[]>;
  /** Releases the locks that `owner` still holds; others' locks are left alone. */
  releaseLocks(ids: string[], owner: string): Promise<void>;
  /**
   * Takes one request from the bucket `key` allowing `limit` per `periodMs` (bursts up to
   * `limit`), atomically and in one round trip, shared by every instance.
   */
  consumeRateLimit(key: string, limit: number, periodMs: number): Promise<RateLimitDecision>;
  publish(channel: string, message: string): Promise<void>;
  /** Returns a function that unsubscribes. */
  subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
