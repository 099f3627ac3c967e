import { describe, expect, it } from 'vitest';
import { decideAfterAttempt, parseRetryAfter, type RetryPolicy } from '../../src/consumers/retry-policy.js';

const policy: RetryPolicy = { scheduleMs: [5000, 30_000, 120_000], retryAfterCapMs: 60_000, jitter: 0.2, random: () => 0.5 };

describe('retry policy', () => {
  it('succeeds on any 2xx', () => {
    expect(decideAfterAttempt({ kind: 'response', statusCode: 204 }, 1, policy)).toEqual({ status: 'SUCCEEDED' });
  });

  it.each([408, 429, 500, 502, 503])('retries %i on the schedule', (statusCode) => {
    expect(decideAfterAttempt({ kind: 'response', statusCode }, 2, policy)).toEqual({ status: 'RETRYING', delayMs: 30_000 });
  });

  it('retries network errors and timeouts', () => {
    expect(decideAfterAttempt({ kind: 'error', errorClass: 'TIMEOUT' }, 1, policy)).toEqual({ status: 'RETRYING', delayMs: 5000 });
    expect(decideAfterAttempt({ kind: 'error', errorClass: 'CONNECTION_REFUSED' }, 3, policy)).toEqual({ status: 'RETRYING', delayMs: 120_000 });
  });

  it('spreads delays by at most ±20%', () => {
    const low = decideAfterAttempt({ kind: 'response', statusCode: 503 }, 1, { ...policy, random: () => 0 });
    const high = decideAfterAttempt({ kind: 'response', statusCode: 503 }, 1, { ...policy, random: () => 0.999999 });
    expect(low).toEqual({ status: 'RETRYING', delayMs: 4000 });
    expect(high.status === 'RETRYING' && high.delayMs).toBeLessThanOrEqual(6000);
    expect(high.status === 'RETRYING' && high.delayMs).toBeGreaterThan(5900);
  });

  it('honours Retry-After, up to the cap', () => {
    expect(decideAfterAttempt({ kind: 'response', statusCode: 503, retryAfter: '1' }, 1, policy)).toEqual({ status: 'RETRYING', delayMs: 1000 });
    expect(decideAfterAttempt({ kind: 'response', statusCode: 429, retryAfter: '86400' }, 1, policy)).toEqual({ status: 'RETRYING', delayMs: 60_000 });
  });

  it('fails after the last scheduled attempt', () => {
    expect(decideAfterAttempt({ kind: 'response', statusCode: 500 }, 4, policy)).toMatchObject({ status: 'FAILED' });
  });

  it('fails at once on 3xx (no redirects followed) and other 4xx', () => {
    expect(decideAfterAttempt({ kind: 'response', statusCode: 302 }, 1, policy)).toMatchObject({ status: 'FAILED', reason: expect.stringContaining('redirect') });
    expect(decideAfterAttempt({ kind: 'response', statusCode: 400 }, 1, policy)).toMatchObject({ status: 'FAILED' });
    expect(decideAfterAttempt({ kind: 'response', statusCode: 404 }, 1, policy)).toMatchObject({ status: 'FAILED' });
  });

  it('disables the destination on 410', () => {
    expect(decideAfterAttempt({ kind: 'response', statusCode: 410 }, 1, policy)).toMatchObject({ status: 'FAILED', disableDestination: true });
  });

  it('does not retry a destination the guard judged forbidden (SSRF)', () => {
    expect(decideAfterAttempt({ kind: 'error', errorClass: 'SSRF_REFUSED' }, 1, policy)).toMatchObject({ status: 'FAILED' });
  });

  it('retries a name that could not be resolved, or not in time, on the schedule like any network error', () => {
    expect(decideAfterAttempt({ kind: 'error', errorClass: 'DNS' }, 1, policy)).toEqual({ status: 'RETRYING', delayMs: 5000 });
    expect(decideAfterAttempt({ kind: 'error', errorClass: 'DNS' }, 2, policy)).toEqual({ status: 'RETRYING', delayMs: 30_000 });
    expect(decideAfterAttempt({ kind: 'error', errorClass: 'DNS' }, 4, policy)).toMatchObject({ status: 'FAILED', reason: 'gave up after 4 attempts' });
  });

  it('retries an attempt cut short by a stopping worker', () => {
    expect(decideAfterAttempt({ kind: 'error', errorClass: 'ABORTED' }, 1, policy)).toEqual({ status: 'RETRYING', delayMs: 5000 });
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    const now = Date.parse('2026-11-23T10:00:00Z');
    expect(parseRetryAfter('Mon, 23 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
