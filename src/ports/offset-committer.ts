/**
 * Commits consumer positions beside the batches instead of inside them.
 *
 * Why: a commit needs the group coordinator, and after a broker restart the coordinator spends
 * seconds loading the group while the partition leaders already serve fetches. A batch that
 * awaited its own commit held up every later fetch, so storing resumed only once the
 * coordinator was back. Storing needs only the partition leader and Postgres.
 *
 * Safe because a noted offset only ever follows records that are stored or dead-lettered: a
 * commit that lands late (or never, if the process dies) costs redelivery, which storage
 * absorbs (unique event key), never a lost record. One commit is in flight at a time and it
 * always carries the newest offset per partition, so positions never move backwards here.
 */
export interface PartitionOffset {
  topic: string;
  partition: number;
  /** The next offset to read: one past the last record handled. */
  offset: string;
}

export interface OffsetCommitter {
  /** The records before `offset` are handled; commit when the coordinator lets us. */
  note(position: PartitionOffset): void;
  /** Waits until everything noted so far is committed, or `timeoutMs` passes. True if committed. */
  flush(timeoutMs: number): Promise<boolean>;
  /** Offsets noted but not yet committed (for logs and tests). */
  pending(): number;
  /** Drops what is left and ignores later notes: the consumer is gone, its successor re-reads. */
  close(): void;
}

export function createOffsetCommitter(options: {
  commit: (positions: PartitionOffset[]) => Promise<void>;
  /** Pause after a failed commit before the next try (the client retries inside a try too). */
  retryDelayMs?: number;
  onError?: (error: unknown, positions: PartitionOffset[]) => void;
}): OffsetCommitter {
  const retryDelayMs = options.retryDelayMs ?? 200;
  const waiting = new Map<string, PartitionOffset>();
  let draining: Promise<void> | undefined;
  let closed = false;

  const keyOf = (position: PartitionOffset) => `${position.topic}\u0000${position.partition}`;
  const keepNewest = (position: PartitionOffset) => {
    const key = keyOf(position);
    const held = waiting.get(key);
    if (!held || BigInt(held.offset) < BigInt(position.offset)) waiting.set(key, position);
  };

  async function drain(): Promise<void> {
    try {
      while (waiting.size > 0 && !closed) {
        const positions = [...waiting.values()];
        waiting.clear();
        try {
          await options.commit(positions);
        } catch (error) {
          // Put back what a newer note has not superseded, and try again shortly.
          for (const position of positions) keepNewest(position);
          options.onError?.(error, positions);
          await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
        }
      }
    } finally {
      draining = undefined;
    }
  }

  return {
    note(position) {
      if (closed) return;
      keepNewest(position);
      // Started on the next tick: `draining` is set before any commit runs (no second loop), and
      // notes from the same tick share one commit.
      draining ??= Promise.resolve().then(drain);
    },
    async flush(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (draining && Date.now() < deadline) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([draining, new Promise((resolve) => (timer = setTimeout(resolve, deadline - Date.now())))]);
        clearTimeout(timer);
      }
      return waiting.size === 0 && !draining;
    },
    pending: () => waiting.size,
    close() {
      closed = true;
      waiting.clear();
    },
  };
}
