import { describe, expect, it } from 'vitest';
import { createOffsetCommitter, type PartitionOffset } from '../../src/ports/offset-committer.js';

const at = (partition: number, offset: number): PartitionOffset => ({ topic: 't', partition, offset: String(offset) });

function gate() {
  let open!: () => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

describe('offset committer', () => {
  it('a batch does not wait for its commit, and the newest position per partition wins', async () => {
    const calls: PartitionOffset[][] = [];
    const gates = [gate(), gate()];
    const committer = createOffsetCommitter({
      commit: (positions) => {
        calls.push(positions);
        return gates[calls.length - 1]!.promise;
      },
    });
    committer.note(at(0, 10));
    await Promise.resolve();
    // The first commit hangs (coordinator loading); later batches go on and note newer offsets.
    committer.note(at(0, 20));
    committer.note(at(1, 5));
    committer.note(at(0, 15));
    expect(calls).toEqual([[at(0, 10)]]);
    gates[0]!.open();
    gates[1]!.open();
    expect(await committer.flush(1_000)).toBe(true);
    expect(calls).toEqual([[at(0, 10)], [at(0, 20), at(1, 5)]]);
  });

  it('a failed commit is tried again unless a newer position replaced it', async () => {
    const calls: PartitionOffset[][] = [];
    let failNext = true;
    const committer = createOffsetCommitter({
      retryDelayMs: 1,
      commit: async (positions) => {
        calls.push(positions);
        if (failNext) {
          failNext = false;
          committer.note(at(0, 30));
          throw new Error('The coordinator is loading');
        }
      },
    });
    committer.note(at(0, 10));
    committer.note(at(1, 7));
    expect(await committer.flush(1_000)).toBe(true);
    // Partition 0's failed commit of 10 is not retried: 30 replaced it. Partition 1 lands once.
    const committed = calls.slice(1).flat();
    expect(calls[0]).toEqual([at(0, 10), at(1, 7)]);
    expect(committed.filter((p) => p.partition === 0)).toEqual([at(0, 30)]);
    expect(committed.filter((p) => p.partition === 1)).toEqual([at(1, 7)]);
    expect(committer.pending()).toBe(0);
  });

  it('flush gives up after its timeout while commits keep failing, and close drops the rest', async () => {
    let tries = 0;
    const committer = createOffsetCommitter({
      retryDelayMs: 5,
      commit: async () => {
        tries += 1;
        throw new Error('no coordinator');
      },
    });
    committer.note(at(2, 3));
    expect(await committer.flush(50)).toBe(false);
    expect(tries).toBeGreaterThan(1);
    committer.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const settled = tries;
    committer.note(at(2, 9));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(tries).toBe(settled);
    expect(committer.pending()).toBe(0);
  });
});
