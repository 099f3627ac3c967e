/**
 * What happens after a delivery attempt (DESIGN.md §2 "Delivery workers"): a pure function of the
 * attempt's outcome, so the policy is tested without a network. Attempt numbers start at 1;
 * a delivery gets 1 + schedule.length attempts in all.
 */
export type AttemptOutcome =
  | { kind: 'response'; statusCode: number; retryAfter?: string | undefined }
  | { kind: 'error'; errorClass: string };

export type AttemptDecision =
  | { status: 'SUCCEEDED' }
  | { status: 'RETRYING'; delayMs: number }
  | { status: 'FAILED'; reason: string; disableDestination?: true };

export interface RetryPolicy {
  /** Delay before attempt n+1, for n = 1…length. */
  scheduleMs: readonly number[];
  /** A receiver's Retry-After is honoured up to this. */
  retryAfterCapMs: number;
  /** ±fraction of random spread, so receivers recovering from an outage are not hit in lockstep. */
  jitter: number;
  random?: () => number;
}

export const DEFAULT_SCHEDULE_SECONDS = [5, 30, 120, 600, 1800, 3600, 10_800, 21_600];

/** Retry-After as delay-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function retryable(outcome: AttemptOutcome): boolean {
  if (outcome.kind === 'error') return outcome.errorClass !== 'SSRF_REFUSED';
  const code = outcome.statusCode;
  return code === 408 || code === 429 || code >= 500;
}

export function decideAfterAttempt(outcome: AttemptOutcome, attemptNumber: number, policy: RetryPolicy): AttemptDecision {
  if (outcome.kind === 'response') {
    const code = outcome.statusCode;
    if (code >= 200 && code < 300) return { status: 'SUCCEEDED' };
    if (code === 410) return { status: 'FAILED', reason: 'receiver answered 410 Gone; destination disabled', disableDestination: true };
    if (code >= 300 && code < 400) return { status: 'FAILED', reason: `receiver answered ${code}; redirects are not followed` };
  }
  if (!retryable(outcome)) {
    const reason = outcome.kind === 'response' ? `receiver answered ${outcome.statusCode}` : `refused: ${outcome.errorClass}`;
    return { status: 'FAILED', reason };
  }
  if (attemptNumber > policy.scheduleMs.length) {
    return { status: 'FAILED', reason: `gave up after ${attemptNumber} attempts` };
  }
  const retryAfter = outcome.kind === 'response' ? parseRetryAfter(outcome.retryAfter) : undefined;
  if (retryAfter !== undefined) return { status: 'RETRYING', delayMs: Math.min(retryAfter, policy.retryAfterCapMs) };
  const base = policy.scheduleMs[attemptNumber - 1]!;
  const spread = ((policy.random ?? Math.random)() * 2 - 1) * policy.jitter;
  return { status: 'RETRYING', delayMs: Math.max(0, Math.round(base * (1 + spread))) };
}
