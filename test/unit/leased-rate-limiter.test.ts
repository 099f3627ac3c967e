import { describe, expect, it } from 'vitest';
import { blockSize, createLeasedRateLimiter } from '../../src/ingress/leased-rate-limiter.js';
import { createMemoryCoordination } from '../../src/ports/memory-coordination.js';
import type { Coordination } from '../../src/ports/coordination.js';

/** The shared bucket, counting round trips. */
function sharedBucket(now: () => number) {
  const coordination = createMemoryCoordination({ now });
  const counts = { take: 0, give: 0, returned: 0 };
  const counted: Pick<Coordination, 'takeRateTokens' | 'returnRateTokens'> = {
    takeRateTokens: (...args) => {
      counts.take += 1;
      return coordination.takeRateTokens(...args);
    },
    returnRateTokens: (key, limit, period, count, takenUntil) => {
      counts.give += 1;
      counts.returned += count;
      return coordination.returnRateTokens(key, limit, period, count, takenUntil);
    },
  };
  return { coordination, counted, counts };
}

describe('leased rate limiter', () => {
  it('admits a block of requests per round trip', async () => {
    const clock = 1_000_000;
    const { counted, counts } = sharedBucket(() => clock);
    const limiter = createLeasedRateLimiter({ coordination: counted, now: () => clock });
    for (let i = 0; i < 1000; i++) expect((await limiter.consume('acme:1.2.3.4', 60_000, 60_000)).allowed).toBe(true);
    expect(blockSize(60_000, 500)).toBe(500);
    expect(counts.take).toBe(2);
    await limiter.close();
  });

  it('never admits more than the shared bucket grants, across instances', async () => {
    const clock = 1_000_000;
    const { counted } = sharedBucket(() => clock);
    const instances = [0, 1, 2].map(() => createLeasedRateLimiter({ coordination: counted, now: () => clock }));
    let admitted = 0;
    // 300 per minute (block 3); 1000 attempts spread over three instances in the same instant.
    for (let i = 0; i < 1000; i++) if ((await instances[i % 3]!.consume('k', 300, 60_000)).allowed) admitted += 1;
    expect(admitted).toBe(300);
    await Promise.all(instances.map((instance) => instance.close()));
  });

  it('remembers a refusal until the bucket admits again, without asking again', async () => {
    let clock = 1_000_000;
    const { counted, counts } = sharedBucket(() => clock);
    const limiter = createLeasedRateLimiter({ coordination: counted, now: () => clock });
    for (let i = 0; i < 3; i++) expect((await limiter.consume('k', 3, 60_000)).allowed).toBe(true);
    const refused = await limiter.consume('k', 3, 60_000);
    expect(refused).toEqual({ allowed: false, retryAfterMs: 20_000 });
    const asked = counts.take;
    clock += 5_000;
    expect(await limiter.consume('k', 3, 60_000)).toEqual({ allowed: false, retryAfterMs: 15_000 });
    expect(counts.take).toBe(asked);
    clock += 15_000;
    expect((await limiter.consume('k', 3, 60_000)).allowed).toBe(true);
    await limiter.close();
  });

  it('gives an unused lease back after leaseMs, so other instances can use it', async () => {
    let clock = 1_000_000;
    const { counted, counts } = sharedBucket(() => clock);
    const first = createLeasedRateLimiter({ coordination: counted, now: () => clock, leaseMs: 50 });
    const second = createLeasedRateLimiter({ coordination: counted, now: () => clock, leaseMs: 50 });
    // Limit 1000: blocks of 10. The first instance uses 1 of its 10.
    expect((await first.consume('k', 1000, 60_000)).allowed).toBe(true);
    clock += 60;
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(counts.returned).toBe(9);
    let admitted = 0;
    while ((await second.consume('k', 1000, 60_000)).allowed) admitted += 1;
    // 999 left by the first instance, plus the one the bucket refilled in those 60 ms (1000/min).
    expect(admitted).toBe(1000);
    await Promise.all([first.close(), second.close()]);
  });

  it('concurrent requests share one round trip; a changed limit starts a new lease', async () => {
    const clock = 1_000_000;
    const { counted, counts } = sharedBucket(() => clock);
    const limiter = createLeasedRateLimiter({ coordination: counted, now: () => clock });
    const decisions = await Promise.all(Array.from({ length: 50 }, () => limiter.consume('k', 10_000, 60_000)));
    expect(decisions.every((decision) => decision.allowed)).toBe(true);
    expect(counts.take).toBe(1);
    await limiter.consume('k', 20_000, 60_000);
    expect(counts.take).toBe(2);
    expect(counts.returned).toBe(50);
    await limiter.close();
  });

  it('rejects when the shared bucket cannot be reached, and asks again on the next request', async () => {
    let failing = true;
    const limiter = createLeasedRateLimiter({
      coordination: {
        takeRateTokens: async () => {
          if (failing) throw new Error('redis down');
          return { granted: 5, retryAfterMs: 0, takenUntil: 0 };
        },
        returnRateTokens: async () => {},
      },
    });
    await expect(limiter.consume('k', 500, 60_000)).rejects.toThrow('redis down');
    failing = false;
    await expect(limiter.consume('k', 500, 60_000)).resolves.toEqual({ allowed: true, retryAfterMs: 0 });
    await limiter.close();
  });
});
