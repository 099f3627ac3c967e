/**
 * The coordination port (DESIGN.md §4): cheap shared state that speeds things up but is never
 * the source of truth. Losing it may cost work, never correctness — Postgres constraints back it.
 */
export interface Coordination {
  ping(): Promise<void>;
  /** For each id, whether a "stored" marker exists. */
  markersExist(ids: string[]): Promise<boolean[]>;
  /** Marks ids as stored, for `ttlSeconds`. */
  setMarkers(ids: string[], ttlSeconds: number): Promise<void>;
  close(): Promise<void>;
}
