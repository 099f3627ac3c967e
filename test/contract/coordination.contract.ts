import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Coordination } from '../../src/ports/coordination.js';
import { eventually } from '../helpers/eventually.js';

export interface CoordinationUnderTest {
  coordination: Coordination;
  cleanup(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const unique = (what: string) => `${what}-${randomUUID()}`;

/** The behaviour every coordination adapter owes its callers (DESIGN.md §4), whichever backs it. */
export function coordinationContract(name: string, make: () => Promise<CoordinationUnderTest>): void {
  describe(`coordination contract: ${name}`, () => {
    let subject: CoordinationUnderTest;
    let coordination: Coordination;

    beforeEach(async () => {
      subject = await make();
      coordination = subject.coordination;
    });
    afterEach(async () => {
      await subject.cleanup();
    });

    it('answers a ping', async () => {
      await expect(coordination.ping()).resolves.toBeUndefined();
    });

    describe('claims for storage (markers and locks)', () => {
      it('claims free ids, reports held ones busy and marked ones stored, in order', async () => {
        const [x, y, z, m] = [unique('x'), unique('y'), unique('z'), unique('m')];
        await coordination.settleClaims([m], [], 'owner-a', 60);
        expect(await coordination.claimForStorage([x, y, m], 'owner-a', 10_000)).toEqual(['claimed', 'claimed', 'stored']);
        expect(await coordination.claimForStorage([x, z], 'owner-b', 10_000)).toEqual(['busy', 'claimed']);
        // SET NX: a held lock is refused to its own owner too.
        expect(await coordination.claimForStorage([y], 'owner-a', 10_000)).toEqual(['busy']);
        expect(await coordination.claimForStorage([], 'owner-a', 10_000)).toEqual([]);
      });

      it('settles in one call: marks what was stored and releases only the owner\'s locks', async () => {
        const [mine, theirs, done] = [unique('mine'), unique('theirs'), unique('done')];
        await coordination.claimForStorage([mine, done], 'owner-a', 10_000);
        await coordination.claimForStorage([theirs], 'owner-b', 10_000);
        await coordination.settleClaims([done], [mine, theirs, done], 'owner-a', 60);
        expect(await coordination.claimForStorage([mine, theirs, done], 'owner-c', 10_000)).toEqual(['claimed', 'busy', 'stored']);
        await coordination.settleClaims([], [], 'owner-a', 60);
      });

      it('forgets a marker once its time to live has passed', async () => {
        const [short, long] = [unique('short'), unique('long')];
        await coordination.settleClaims([short, long], [], 'owner-a', 1);
        await coordination.settleClaims([long], [], 'owner-a', 60);
        expect(await coordination.claimForStorage([short, long], 'owner-a', 100)).toEqual(['stored', 'stored']);
        await sleep(1200);
        expect(await coordination.claimForStorage([short, long], 'owner-a', 100)).toEqual(['claimed', 'stored']);
      });

      it('lets a lock expire, and the late release of its first owner leaves the new owner holding it', async () => {
        const id = unique('expiring');
        expect(await coordination.claimForStorage([id], 'owner-a', 300)).toEqual(['claimed']);
        await sleep(450);
        expect(await coordination.claimForStorage([id], 'owner-b', 10_000)).toEqual(['claimed']);
        await coordination.settleClaims([], [id], 'owner-a', 60);
        expect(await coordination.claimForStorage([id], 'owner-c', 10_000)).toEqual(['busy']);
      });
    });

    describe('concurrency permits', () => {
      it('grants at most `limit` permits of a key at once, to distinct holders, and again once released', async () => {
        const key = unique('permits');
        const granted = await Promise.all(['a', 'b', 'c', 'd'].map((holder) => coordination.acquirePermit(key, holder, 2, 10_000)));
        expect(granted.filter(Boolean)).toHaveLength(2);
        const holders = ['a', 'b', 'c', 'd'].filter((_, index) => granted[index]);
        // A holder asking again keeps its permit (and takes no second one).
        expect(await coordination.acquirePermit(key, holders[0]!, 2, 10_000)).toBe(true);
        expect(await coordination.acquirePermit(key, 'e', 2, 10_000)).toBe(false);
        await coordination.releasePermit(key, holders[0]!);
        await coordination.releasePermit(key, 'never-held');
        expect(await coordination.acquirePermit(key, 'e', 2, 10_000)).toBe(true);
        expect(await coordination.acquirePermit(key, 'f', 2, 10_000)).toBe(false);
        // Another key has permits of its own.
        expect(await coordination.acquirePermit(unique('other'), 'f', 1, 10_000)).toBe(true);
      });

      it('takes back the permit of a holder that never released it once its time to live has passed', async () => {
        const key = unique('expiring-permit');
        expect(await coordination.acquirePermit(key, 'crashed', 1, 300)).toBe(true);
        expect(await coordination.acquirePermit(key, 'next', 1, 10_000)).toBe(false);
        await sleep(450);
        expect(await coordination.acquirePermit(key, 'next', 1, 10_000)).toBe(true);
      });
    });

    describe('rate limits', () => {
      it('allows a burst up to the limit, then refuses with the time until the next slot', async () => {
        const key = unique('bucket');
        const decisions = [];
        for (let i = 0; i < 4; i++) decisions.push(await coordination.consumeRateLimit(key, 3, 60_000));
        expect(decisions.slice(0, 3)).toEqual([
          { allowed: true, retryAfterMs: 0 },
          { allowed: true, retryAfterMs: 0 },
          { allowed: true, retryAfterMs: 0 },
        ]);
        expect(decisions[3]!.allowed).toBe(false);
        // One slot frees every periodMs / limit = 20 s.
        expect(decisions[3]!.retryAfterMs).toBeGreaterThan(0);
        expect(decisions[3]!.retryAfterMs).toBeLessThanOrEqual(20_000);
      });

      it('keeps buckets of different keys independent', async () => {
        const [first, second] = [unique('first'), unique('second')];
        for (let i = 0; i < 3; i++) await coordination.consumeRateLimit(first, 3, 60_000);
        expect((await coordination.consumeRateLimit(first, 3, 60_000)).allowed).toBe(false);
        expect(await coordination.consumeRateLimit(second, 3, 60_000)).toEqual({ allowed: true, retryAfterMs: 0 });
      });

      it('refills the bucket once the period has passed', async () => {
        const key = unique('small');
        expect((await coordination.consumeRateLimit(key, 2, 300)).allowed).toBe(true);
        expect((await coordination.consumeRateLimit(key, 2, 300)).allowed).toBe(true);
        const refused = await coordination.consumeRateLimit(key, 2, 300);
        expect(refused.allowed).toBe(false);
        expect(refused.retryAfterMs).toBeGreaterThan(0);
        expect(refused.retryAfterMs).toBeLessThanOrEqual(150);
        await sleep(350);
        expect((await coordination.consumeRateLimit(key, 2, 300)).allowed).toBe(true);
        expect((await coordination.consumeRateLimit(key, 2, 300)).allowed).toBe(true);
        expect((await coordination.consumeRateLimit(key, 2, 300)).allowed).toBe(false);
      });

      it('takes requests in blocks from the same bucket, never more than it holds, and takes back unused ones', async () => {
        const key = unique('blocks');
        const first = await coordination.takeRateTokens(key, 10, 60_000, 4);
        expect(first).toMatchObject({ granted: 4, retryAfterMs: 0 });
        expect((await coordination.takeRateTokens(key, 10, 60_000, 4)).granted).toBe(4);
        // Two left: a block asks for four and gets what remains.
        const last = await coordination.takeRateTokens(key, 10, 60_000, 4);
        expect(last.granted).toBe(2);
        const empty = await coordination.takeRateTokens(key, 10, 60_000, 4);
        expect(empty.granted).toBe(0);
        expect(empty.retryAfterMs).toBeGreaterThan(5_000);
        expect(empty.retryAfterMs).toBeLessThanOrEqual(6_000);
        // The same bucket as consumeRateLimit.
        expect((await coordination.consumeRateLimit(key, 10, 60_000)).allowed).toBe(false);
        // The last block's two slots are still ahead in the schedule: both are credited.
        await coordination.returnRateTokens(key, 10, 60_000, 2, last.takenUntil);
        expect((await coordination.takeRateTokens(key, 10, 60_000, 5)).granted).toBe(2);
      });

      it('credits a returned block only for the slots the schedule has not passed', async () => {
        const key = unique('stale-return');
        // 10 per 300 ms: a slot every 30 ms. A block of 4 reaches 120 ms into the schedule.
        const block = await coordination.takeRateTokens(key, 10, 300, 4);
        expect(block.granted).toBe(4);
        await sleep(200);
        // The bucket has refilled all four by now; another instance drains the whole burst.
        expect((await coordination.takeRateTokens(key, 10, 300, 50)).granted).toBe(10);
        // Giving the stale block back credits nothing: the burst stays the limit.
        await coordination.returnRateTokens(key, 10, 300, 4, block.takenUntil);
        expect((await coordination.takeRateTokens(key, 10, 300, 1)).granted).toBe(0);
        await coordination.returnRateTokens(unique('never-used'), 10, 300, 5, Date.now() + 1_000);
      });
    });

    describe('publish and subscribe', () => {
      it('delivers messages to a subscriber in publish order', async () => {
        const channel = unique('ordered');
        const received: string[] = [];
        await coordination.subscribe(channel, (message) => received.push(message));
        const sent = Array.from({ length: 20 }, (_, i) => `message-${i}`);
        for (const message of sent) await coordination.publish(channel, message);
        await eventually(() => (received.length >= sent.length ? true : undefined), 5000);
        expect(received).toEqual(sent);
      });

      it('delivers each message to every subscriber of the channel', async () => {
        const channel = unique('fan-out');
        const first: string[] = [];
        const second: string[] = [];
        await coordination.subscribe(channel, (message) => first.push(message));
        await coordination.subscribe(channel, (message) => second.push(message));
        await coordination.publish(channel, 'hello');
        await eventually(() => (first.length === 1 && second.length === 1 ? true : undefined), 5000);
        expect([first, second]).toEqual([['hello'], ['hello']]);
      });

      it('stops delivering to a subscriber that unsubscribed, and keeps delivering to the others', async () => {
        const channel = unique('leaving');
        const leaving: string[] = [];
        const staying: string[] = [];
        const unsubscribe = await coordination.subscribe(channel, (message) => leaving.push(message));
        await coordination.subscribe(channel, (message) => staying.push(message));
        await coordination.publish(channel, 'before');
        await eventually(() => (leaving.length === 1 && staying.length === 1 ? true : undefined), 5000);
        await unsubscribe();
        await coordination.publish(channel, 'after');
        await eventually(() => (staying.length === 2 ? true : undefined), 5000);
        await sleep(100);
        expect(leaving).toEqual(['before']);
        expect(staying).toEqual(['before', 'after']);
      });

      it('keeps channels apart', async () => {
        const [quiet, busy] = [unique('quiet'), unique('busy')];
        const onQuiet: string[] = [];
        const onBusy: string[] = [];
        await coordination.subscribe(quiet, (message) => onQuiet.push(message));
        await coordination.subscribe(busy, (message) => onBusy.push(message));
        await coordination.publish(busy, 'for busy');
        await eventually(() => (onBusy.length === 1 ? true : undefined), 5000);
        await sleep(100);
        expect(onQuiet).toEqual([]);
        expect(onBusy).toEqual(['for busy']);
      });

      it('publishes to a channel nobody listens to without error', async () => {
        await expect(coordination.publish(unique('nobody'), 'into the void')).resolves.toBeUndefined();
      });
    });
  });
}
