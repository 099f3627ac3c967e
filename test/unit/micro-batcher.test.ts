import { stat } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sendHalvingWhenTooLarge } from '../../src/ports/kafka-event-log.js';
import { BacklogFullError, createMicroBatcher, SendTimeoutError } from '../../src/ports/micro-batcher.js';

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

/** A send that records its batches and holds the first one until `release()`. */
function firstSendHeld() {
  const sent: number[][] = [];
  let releaseFirst: () => void = () => {};
  return {
    sent,
    send: (items: number[]) => {
      sent.push(items);
      return sent.length === 1 ? new Promise<void>((resolve) => (releaseFirst = resolve)) : Promise.resolve();
    },
    release: () => releaseFirst(),
  };
}

describe('micro-batcher', () => {
  it('answers each item by its own fate when a send reports some items failed', async () => {
    const refused = new Error('refused alone');
    const batcher = createMicroBatcher<number>({
      send: async (items) => new Map(items.flatMap((item, index) => (item % 2 === 0 ? [[index, refused] as const] : []))),
      maxBatch: 100,
      lingerMs: 0,
      maxPending: 1000,
      timeoutMs: 1000,
    });
    const outcomes = await Promise.allSettled([1, 2, 3, 4].map((n) => batcher.push(n)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBe(refused);
  });

  it('sends concurrent items together and answers each when its batch is acknowledged', async () => {
    const sent: number[][] = [];
    const batcher = createMicroBatcher<number>({
      send: async (items) => void sent.push(items),
      maxBatch: 100,
      lingerMs: 5,
      maxPending: 1000,
      timeoutMs: 1000,
    });
    await Promise.all([1, 2, 3, 4].map((n) => batcher.push(n)));
    expect(sent).toEqual([[1, 2, 3, 4]]);
  });

  // Linger 0 always; a long linger after a quiet spell (here: the first send of all).
  it.each([0, 10_000])(
    'with linger %i ms and no recent send, sends what was pushed in one event-loop turn together, at the end of that turn (not on a timer)',
    async (lingerMs) => {
      const events: string[] = [];
      const batcher = createMicroBatcher<number>({
        send: async (items) => void events.push(`send ${items.join(',')}`),
        maxBatch: 100,
        lingerMs,
        maxPending: 1000,
        timeoutMs: 60_000,
      });
      // From an I/O callback, as a request handler runs: a timer queued before the pushes fires in the
      // next turn, after the end of this one; a linger on a timer would fire after it.
      const pushed = await new Promise<Promise<void>[]>((resolve) =>
        stat('.', () => {
          setTimeout(() => events.push('timer'), 0);
          resolve([batcher.push(1), batcher.push(2)]);
        }),
      );
      await Promise.all(pushed);
      await tick(5);
      expect(events).toEqual(['send 1,2', 'timer']);
    },
  );

  it('while items keep coming, starts at most one send per linger, unless a batch is full', async () => {
    const sent: number[][] = [];
    const batcher = createMicroBatcher<number>({
      send: async (items) => void sent.push(items),
      maxBatch: 2,
      lingerMs: 10_000,
      maxPending: 1000,
      timeoutMs: 60_000,
    });
    await batcher.push(1);
    expect(sent).toEqual([[1]]);
    // The last send started just now: 2 waits for the linger…
    const second = batcher.push(2);
    await tick(20);
    expect(sent).toEqual([[1]]);
    // …until a full batch goes at once, and the rest waits again.
    const more = [batcher.push(3), batcher.push(4)];
    await Promise.all([second, more[0]]);
    expect(sent).toEqual([[1], [2, 3]]);
    await tick(20);
    expect(sent).toEqual([[1], [2, 3]]);
    await batcher.drain();
    await Promise.all(more);
    expect(sent).toEqual([[1], [2, 3], [4]]);
  });

  it('sends what queued during a send as soon as it returns when the linger has passed, full batches first', async () => {
    const { sent, send, release } = firstSendHeld();
    const batcher = createMicroBatcher<number>({
      send,
      maxBatch: 2,
      lingerMs: 5,
      maxPending: 1000,
      timeoutMs: 5000,
    });
    const first = [batcher.push(1), batcher.push(2)];
    const later = [batcher.push(3), batcher.push(4), batcher.push(5)];
    await tick();
    expect(sent).toEqual([[1, 2]]);
    // The first send outlasts the linger: what queued meanwhile follows it straight away.
    await tick(30);
    release();
    await Promise.all(first);
    await Promise.all(later);
    expect(sent).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('waits out the whole linger between two sends, although Node may fire a timer a millisecond early', async () => {
    const starts: number[] = [];
    const batcher = createMicroBatcher<number>({
      send: async () => void starts.push(performance.now()),
      maxBatch: 100,
      lingerMs: 5,
      maxPending: 1000,
      timeoutMs: 5000,
    });
    for (let round = 0; round < 5; round++) await batcher.push(round);
    expect(starts).toHaveLength(5);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(5);
  });

  it('sends a queue that holds a full batch by bytes at once, as one full by count', async () => {
    const { sent, send, release } = firstSendHeld();
    const batcher = createMicroBatcher<number>({
      send,
      maxBatch: 100,
      maxBatchBytes: 10,
      sizeOf: () => 5,
      lingerMs: 10_000,
      maxPending: 1000,
      timeoutMs: 60_000,
    });
    const first = batcher.push(1);
    await tick();
    const queued = [batcher.push(2), batcher.push(3)];
    release();
    await first;
    await Promise.all(queued);
    expect(sent).toEqual([[1], [2, 3]]);
  });

  it('fails the batch of a send that throws instead of rejecting, and carries on', async () => {
    let calls = 0;
    const batcher = createMicroBatcher<number>({
      send: (): Promise<void> => {
        calls += 1;
        if (calls === 1) throw new Error('thrown, not rejected');
        return Promise.resolve();
      },
      maxBatch: 10,
      lingerMs: 0,
      maxPending: 1000,
      timeoutMs: 5000,
    });
    await expect(batcher.push(1)).rejects.toThrow('thrown, not rejected');
    expect(batcher.pending).toBe(0);
    await expect(batcher.push(2)).resolves.toBeUndefined();
  });

  it('rejects every item of a failed send, and only those', async () => {
    let calls = 0;
    const batcher = createMicroBatcher<number>({
      send: async () => {
        calls += 1;
        if (calls === 1) throw new Error('broker down');
      },
      maxBatch: 10,
      lingerMs: 1,
      maxPending: 100,
      timeoutMs: 1000,
    });
    const failed = await Promise.allSettled([batcher.push(1), batcher.push(2)]);
    expect(failed.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    await expect(batcher.push(3)).resolves.toBeUndefined();
  });

  it('answers each caller by its deadline and does not send items that already timed out', async () => {
    const sent: number[][] = [];
    let release: () => void = () => {};
    const batcher = createMicroBatcher<number>({
      send: (items) => {
        sent.push(items);
        return sent.length === 1 ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve();
      },
      maxBatch: 1,
      lingerMs: 1,
      maxPending: 100,
      timeoutMs: 30,
    });
    const stuck = batcher.push(1);
    const queued = batcher.push(2);
    await expect(stuck).rejects.toBeInstanceOf(SendTimeoutError);
    await expect(queued).rejects.toBeInstanceOf(SendTimeoutError);
    release();
    await tick(5);
    expect(sent).toEqual([[1]]);
  });

  it('refuses new items at once while the backlog is full', async () => {
    const batcher = createMicroBatcher<number>({
      send: () => new Promise<void>(() => {}),
      maxBatch: 10,
      lingerMs: 1,
      maxPending: 3,
      timeoutMs: 100,
    });
    const waiting = [batcher.push(1), batcher.push(2), batcher.push(3)];
    await expect(batcher.push(4)).rejects.toBeInstanceOf(BacklogFullError);
    await Promise.allSettled(waiting);
  });
});

describe('micro-batcher byte cap', () => {
  it('cuts a shared send at maxBatchBytes, and sends an item larger than the cap alone', async () => {
    const sent: number[][] = [];
    const batcher = createMicroBatcher<number>({
      send: async (items) => {
        sent.push(items);
      },
      maxBatch: 100,
      maxBatchBytes: 10,
      sizeOf: (item) => item,
      lingerMs: 1,
      maxPending: 1_000,
      timeoutMs: 1_000,
    });
    await Promise.all([4, 4, 4, 25, 3].map((item) => batcher.push(item)));
    expect(sent).toEqual([[4, 4], [4], [25], [3]]);
  });
});


describe('sendHalvingWhenTooLarge', () => {
  const tooLarge = () => Object.assign(new Error('The request included a message larger than the max message size'), { type: 'MESSAGE_TOO_LARGE' });
  /** A broker taking at most `limit` bytes per send, each message's size being its value. */
  const brokerWithLimit = (limit: number) => {
    const stored: number[] = [];
    const sends: number[][] = [];
    const send = async (messages: number[]) => {
      sends.push(messages);
      if (messages.reduce((sum, size) => sum + size, 0) > limit) throw tooLarge();
      stored.push(...messages);
    };
    return { stored, sends, send };
  };

  it('sends in halves, in order, and reports only the messages refused alone', async () => {
    const broker = brokerWithLimit(10);
    const halved: number[] = [];
    const messages = [3, 3, 3, 3, 11, 3, 3];
    const refused = await sendHalvingWhenTooLarge(broker.send, messages, (count) => halved.push(count));
    expect(broker.stored).toEqual([3, 3, 3, 3, 3, 3]);
    expect([...(refused ?? new Map()).keys()]).toEqual([4]);
    expect(halved[0]).toBe(7);
  });

  it('sends once when the broker takes it, and passes any other failure through whole', async () => {
    const broker = brokerWithLimit(100);
    expect(await sendHalvingWhenTooLarge(broker.send, [1, 2, 3], () => {})).toBeUndefined();
    expect(broker.sends).toEqual([[1, 2, 3]]);
    const down = new Error('broker down');
    await expect(sendHalvingWhenTooLarge(async () => Promise.reject(down), [1, 2], () => {})).rejects.toBe(down);
    // After a split, a failure that is not about size still fails the whole send.
    let calls = 0;
    const flaky = async () => {
      calls += 1;
      if (calls === 1) throw tooLarge();
      if (calls === 3) throw down;
    };
    await expect(sendHalvingWhenTooLarge(flaky, [1, 2, 3, 4], () => {})).rejects.toBe(down);
  });
});
