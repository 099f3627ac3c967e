/**
 * Lets many concurrent callers share one send: items queue until `maxBatch` are waiting or
 * `lingerMs` has passed since the last send started, then go out together (after a quiet spell,
 * at the end of the event-loop turn). One send is in flight at a time, so the log holds items in
 * the order they were pushed; whatever queued meanwhile goes next.
 * Each caller's promise settles with its own item's fate, or at its own deadline.
 */
export class BacklogFullError extends Error {
  constructor(limit: number) {
    super(`more than ${limit} items are waiting to be sent`);
    this.name = 'BacklogFullError';
  }
}

export class SendTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`not acknowledged within ${timeoutMs} ms`);
    this.name = 'SendTimeoutError';
  }
}

/** Items of a send that failed on their own (by index in the send), while the rest went through. */
export type ItemFailures = ReadonlyMap<number, Error>;

export interface MicroBatcherOptions<T> {
  /** Rejects when the whole send failed; resolves with `ItemFailures` when only some items did. */
  send(items: T[]): Promise<void | ItemFailures>;
  maxBatch: number;
  /** A send also ends once its items reach this many bytes (by `sizeOf`); it always takes at least one item. */
  maxBatchBytes?: number;
  sizeOf?(item: T): number;
  /** The least time between the starts of two sends that are not full; 0: each send at the end of an event-loop turn. */
  lingerMs: number;
  /** Items queued or in flight beyond which new ones are refused at once (e.g. while the broker is down). */
  maxPending: number;
  timeoutMs: number;
}

interface Entry<T> {
  item: T;
  settled: boolean;
  resolve(): void;
  reject(error: Error): void;
  /** When the caller gets its SendTimeoutError, unless its send was acknowledged first (monotonic clock). */
  deadline: number;
  /** `sizeOf(item)`, measured once. */
  size: number;
}

export interface MicroBatcher<T> {
  push(item: T): Promise<void>;
  /** Sends what is queued and waits for the send in flight; for shutdown. */
  drain(): Promise<void>;
  readonly pending: number;
}

export function createMicroBatcher<T>(options: MicroBatcherOptions<T>): MicroBatcher<T> {
  const queue: Entry<T>[] = [];
  let sending: Promise<void> | undefined;
  // Cancels the pending linger: a timer, or with `lingerMs` 0 an immediate (the end of this
  // event-loop turn, so whatever arrived in the same turn goes out together).
  let cancelLinger: (() => void) | undefined;
  // When the last send started (monotonic clock), for the linger.
  let lastSendAt = Number.NEGATIVE_INFINITY;
  // Bytes (by `sizeOf`) of the queued items: a queue holding a full batch by bytes goes at once too.
  let queuedBytes = 0;

  // The items of the send in flight (for the deadline sweep and the backlog count).
  let flying: Entry<T>[] = [];
  // One timer checks every deadline (a timer per item was a measurable share of the ingress's
  // work at thousands of webhooks per second); a deadline is met within `sweepMs`.
  const sweepMs = Math.max(1, Math.min(50, Math.floor(options.timeoutMs / 4)));
  let sweeper: NodeJS.Timeout | undefined;

  const settle = (entry: Entry<T>, error?: Error) => {
    if (entry.settled) return;
    entry.settled = true;
    if (error) entry.reject(error);
    else entry.resolve();
  };

  function sweep(): void {
    sweeper = undefined;
    const now = performance.now();
    for (const entry of flying) if (entry.deadline <= now) settle(entry, new SendTimeoutError(options.timeoutMs));
    // Deadlines grow along the queue: the expired ones are a prefix, and leave it.
    let expired = 0;
    while (expired < queue.length && queue[expired]!.deadline <= now) settle(queue[expired++]!, new SendTimeoutError(options.timeoutMs));
    if (expired > 0) for (const entry of queue.splice(0, expired)) queuedBytes -= entry.size;
    armSweep();
  }

  function armSweep(): void {
    if (sweeper || (queue.length === 0 && !flying.some((entry) => !entry.settled))) return;
    sweeper = setTimeout(sweep, sweepMs);
    sweeper.unref();
  }

  /** Up to `maxBatch` items and `maxBatchBytes`; items whose callers already had their answer are dropped. */
  function takeBatch(): Entry<T>[] {
    let count = 0;
    let bytes = 0;
    while (count < queue.length && count < options.maxBatch) {
      const size = queue[count]!.size;
      if (count > 0 && options.maxBatchBytes !== undefined && bytes + size > options.maxBatchBytes) break;
      bytes += size;
      count += 1;
    }
    queuedBytes -= bytes;
    return queue.splice(0, count).filter((entry) => !entry.settled);
  }

  function flush(): void {
    cancelLinger?.();
    cancelLinger = undefined;
    if (sending) return;
    // Items whose callers already got their answer (a timeout) are not sent.
    const batch = takeBatch();
    if (batch.length === 0) {
      if (queue.length > 0) schedule();
      return;
    }
    flying = batch;
    lastSendAt = performance.now();
    sending = sendSafely(batch.map((entry) => entry.item))
      .then(
        (failures) => batch.forEach((entry, index) => settle(entry, failures?.get(index))),
        (error: unknown) => {
          const failure = error instanceof Error ? error : new Error(String(error));
          batch.forEach((entry) => settle(entry, failure));
        },
      )
      .finally(() => {
        sending = undefined;
        flying = [];
        // What queued during the send goes next: now, unless the send just ended began less than
        // `lingerMs` ago (then when that much has passed, or the batch is full).
        if (queue.length > 0) {
          if (performance.now() - lastSendAt >= options.lingerMs) flush();
          else schedule();
        }
      });
  }

  /** A send that throws instead of rejecting fails its batch the same way. */
  function sendSafely(items: T[]): Promise<void | ItemFailures> {
    try {
      return options.send(items);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  const batchFull = () => queue.length >= options.maxBatch || (options.maxBatchBytes !== undefined && queuedBytes >= options.maxBatchBytes);

  function schedule(): void {
    if (sending) return;
    if (batchFull()) flush();
    else cancelLinger ??= linger();
  }

  /**
   * While items keep coming, a send starts at most once per `lingerMs` (unless a batch is full), so
   * sends carry many items each. An item after a quiet spell (the last send started longer ago
   * than that) goes out at the end of this event-loop turn, with whatever else arrives in it: at
   * low load a webhook waits for no timer.
   */
  function linger(): () => void {
    const wait = lastSendAt + options.lingerMs - performance.now();
    if (wait > 0) {
      // Node's timers count whole milliseconds on a coarser clock and may fire up to one early:
      // the timer checks again, and waits out the rest if the linger has not passed yet.
      let timer = setTimeout(function lingerEnded() {
        const left = lastSendAt + options.lingerMs - performance.now();
        if (left > 0) timer = setTimeout(lingerEnded, Math.ceil(left));
        else flush();
      }, Math.ceil(wait));
      return () => clearTimeout(timer);
    }
    const immediate = setImmediate(flush);
    return () => clearImmediate(immediate);
  }

  return {
    push(item) {
      if (queue.length + flying.length >= options.maxPending) return Promise.reject(new BacklogFullError(options.maxPending));
      return new Promise<void>((resolve, reject) => {
        const entry: Entry<T> = {
          item,
          settled: false,
          resolve,
          reject,
          deadline: performance.now() + options.timeoutMs,
          size: options.sizeOf?.(item) ?? 0,
        };
        queue.push(entry);
        queuedBytes += entry.size;
        armSweep();
        schedule();
      });
    },
    async drain() {
      while (queue.length > 0 || sending) {
        if (!sending) flush();
        await sending;
      }
    },
    get pending() {
      return queue.length + flying.length;
    },
  };
}
