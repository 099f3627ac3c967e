import type { VerificationFailure } from './types.js';

export const DEFAULT_TOLERANCE_SECONDS = 300;

// Digits only: parseInt would read "1614265330abc" as a time, and a sign or exponent has no
// place in a Unix timestamp. Fifteen digits keep the value a safe integer.
const UNIX_SECONDS = /^\d{1,15}$/;

/** Unix seconds from a header, or null when the text is not a plain non-negative integer. */
export function parseUnixSeconds(text: string): number | null {
  return UNIX_SECONDS.test(text) ? Number(text) : null;
}

/**
 * Why the signed timestamp is unacceptable, or null when it is within tolerance. "Too old" (a replay
 * or a backed-up sender) and "too new" (a skewed clock) are separate codes because an operator fixes
 * different things. Call this only after a signature matched: an unsigned caller must not learn the
 * tolerance window. Whole seconds, as the providers' own SDKs compare.
 */
export function timestampFailure(
  timestamp: number,
  now: Date,
  toleranceSeconds: number = DEFAULT_TOLERANCE_SECONDS,
): Extract<VerificationFailure, 'TIMESTAMP_TOO_OLD' | 'TIMESTAMP_TOO_NEW'> | null {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (nowSeconds - timestamp > toleranceSeconds) return 'TIMESTAMP_TOO_OLD';
  if (timestamp - nowSeconds > toleranceSeconds) return 'TIMESTAMP_TOO_NEW';
  return null;
}
