import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { createMemoryCoordination } from '../../src/ports/memory-coordination.js';
import { createRedisCoordination } from '../../src/ports/redis-coordination.js';
import { coordinationContract } from '../contract/coordination.contract.js';
import { eventually } from '../helpers/eventually.js';
import { describeWithServices, services } from '../helpers/services.js';

coordinationContract('in memory', async () => {
  const coordination = createMemoryCoordination();
  return { coordination, cleanup: () => coordination.close() };
});

describeWithServices('coordination on Redis', ['redis'], () => {
  coordinationContract('Redis', async () => {
    const coordination = createRedisCoordination({
      url: services.redisUrl!,
      keyPrefix: `hookgate-contract:${randomBytes(4).toString('hex')}:`,
      log: silentLogger,
    });
    // Commands fail fast while the connection is still opening (no offline queue): wait for it.
    await eventually(() => coordination.ping().then(() => true), 10_000);
    return { coordination, cleanup: () => coordination.close() };
  });
});

describe('in-memory coordination, beyond the contract', () => {
  it('computes the same GCRA decisions as the Redis script, on its own clock', async () => {
    let clock = 1_000_000;
    const coordination = createMemoryCoordination({ now: () => clock });
    const take = () => coordination.consumeRateLimit('bucket', 3, 60_000);
    expect([await take(), await take(), await take()].every((decision) => decision.allowed)).toBe(true);
    expect(await take()).toEqual({ allowed: false, retryAfterMs: 20_000 });
    clock += 5_000;
    expect(await take()).toEqual({ allowed: false, retryAfterMs: 15_000 });
    clock += 15_000;
    expect(await take()).toEqual({ allowed: true, retryAfterMs: 0 });
    expect(await take()).toEqual({ allowed: false, retryAfterMs: 20_000 });
    // An idle bucket is full again after one period, not more: the burst never exceeds the limit.
    clock += 600_000;
    expect([await take(), await take(), await take(), await take()].map((decision) => decision.allowed)).toEqual([true, true, true, false]);
    await coordination.close();
  });

  it('expires markers and locks by its clock', async () => {
    let clock = 0;
    const coordination = createMemoryCoordination({ now: () => clock });
    await coordination.settleClaims(['m'], [], 'a', 10);
    await coordination.claimForStorage(['l'], 'a', 500);
    clock = 9_999;
    expect(await coordination.claimForStorage(['m', 'l'], 'b', 500)).toEqual(['stored', 'claimed']);
    clock = 10_000;
    expect(await coordination.claimForStorage(['m'], 'b', 500)).toEqual(['claimed']);
    await coordination.close();
  });

  it('never runs a subscriber on the publisher’s stack, and one throwing subscriber does not stop the others', async () => {
    const coordination = createMemoryCoordination();
    const received: string[] = [];
    await coordination.subscribe('channel', () => {
      throw new Error('subscriber bug');
    });
    await coordination.subscribe('channel', (message) => received.push(message));
    const published = coordination.publish('channel', 'one');
    expect(received).toEqual([]);
    await published;
    await coordination.publish('channel', 'two');
    await eventually(() => (received.length === 2 ? true : undefined), 1000);
    expect(received).toEqual(['one', 'two']);
    await coordination.close();
  });

  it('drops a message published before unsubscribing but not yet delivered', async () => {
    const coordination = createMemoryCoordination();
    const received: string[] = [];
    const unsubscribe = await coordination.subscribe('channel', (message) => received.push(message));
    const published = coordination.publish('channel', 'late');
    await unsubscribe();
    await published;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(received).toEqual([]);
    await coordination.close();
  });

  it('refuses work once closed, like a closed connection', async () => {
    const coordination = createMemoryCoordination();
    await coordination.close();
    await expect(coordination.ping()).rejects.toThrow(/closed/);
    await expect(coordination.publish('channel', 'x')).rejects.toThrow(/closed/);
  });
});
