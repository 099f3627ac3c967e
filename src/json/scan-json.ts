import { isUtf8 } from 'node:buffer';

/**
 * A single pass over a JSON body's bytes, without recursion and without building anything, so that
 * any depth and any size costs the same few operations per byte. The ingress uses it to refuse deep
 * nesting before JSON.parse (which recurses); the persist step uses it to decide whether Postgres'
 * jsonb can hold a body as the queryable `payload` (the raw bytes are stored whatever it says).
 *
 * It assumes nothing about validity: on malformed JSON its answers are simply not meaningful, and
 * the caller's real parser decides.
 */

/**
 * Deepest nesting the ingress accepts (objects and arrays). Real providers send a handful of
 * levels; PGlite's WebAssembly stack gave out between 1,000 and 5,000 levels, and Postgres' parser
 * stops at its stack depth limit, so the limit sits far below both.
 */
export const MAX_JSON_DEPTH = 128;

export interface JsonScan {
  /** Deepest nesting of objects and arrays (a bare scalar is 0, `{}` is 1). */
  depth: number;
  /** An escaped NUL (`\u0000`) in a string: valid JSON that jsonb refuses. */
  escapedNul: boolean;
  /** A `\uD800`–`\uDFFF` escape that is not part of a high-low pair: valid JSON that jsonb refuses. */
  loneSurrogate: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const LOWER_U = 0x75;

function hexValue(bytes: Uint8Array, at: number): number {
  let value = 0;
  for (let i = at; i < at + 4; i++) {
    const c = bytes[i];
    if (c === undefined) return -1;
    let digit: number;
    if (c >= 0x30 && c <= 0x39) digit = c - 0x30;
    else if (c >= 0x41 && c <= 0x46) digit = c - 0x37;
    else if (c >= 0x61 && c <= 0x66) digit = c - 0x57;
    else return -1;
    value = value * 16 + digit;
  }
  return value;
}

/**
 * Whether a JSON body could nest deeper than `limit`: its depth is at most its count of `{` and
 * `[` bytes (strings included; those bytes never occur inside a multi-byte UTF-8 character), so
 * a body with no more of them than `limit` cannot. Counted with Buffer's native search: a tenth of
 * a full scan for a typical webhook, which then only runs for bodies with many brackets.
 */
export function mayNestDeeperThan(bytes: Buffer, limit: number): boolean {
  let brackets = 0;
  for (const bracket of [OPEN_BRACE, OPEN_BRACKET]) {
    for (let at = bytes.indexOf(bracket); at !== -1; at = bytes.indexOf(bracket, at + 1)) {
      if (++brackets > limit) return scanJson(bytes, limit).depth > limit;
    }
  }
  return false;
}

/** Stops early once `stopAboveDepth` is passed (the answer is then `depth = stopAboveDepth + 1`). */
export function scanJson(bytes: Uint8Array, stopAboveDepth = Number.POSITIVE_INFINITY): JsonScan {
  let depth = 0;
  let deepest = 0;
  let escapedNul = false;
  let loneSurrogate = false;
  let inString = false;
  // Set right after a high-surrogate escape: the next thing must be a low-surrogate escape.
  let pendingHigh = false;
  const length = bytes.length;
  for (let i = 0; i < length; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === BACKSLASH) {
        const next = bytes[i + 1];
        if (next === LOWER_U) {
          const unit = hexValue(bytes, i + 2);
          if (unit === 0) escapedNul = true;
          if (unit >= 0xdc00 && unit <= 0xdfff) {
            if (!pendingHigh) loneSurrogate = true;
            pendingHigh = false;
          } else {
            if (pendingHigh) loneSurrogate = true;
            pendingHigh = unit >= 0xd800 && unit <= 0xdbff;
          }
          i += 5;
        } else {
          if (pendingHigh) loneSurrogate = true;
          pendingHigh = false;
          i += 1;
        }
        continue;
      }
      if (pendingHigh) {
        loneSurrogate = true;
        pendingHigh = false;
      }
      if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > stopAboveDepth) break;
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  if (pendingHigh) loneSurrogate = true;
  return { depth: deepest, escapedNul, loneSurrogate };
}

/**
 * Whether Postgres' jsonb can hold this body: valid UTF-8, no escaped NUL, no lone surrogate, and
 * not deeper than the ingress allows. Anything else it still refuses (a number beyond numeric's
 * range, say) is found by the database itself, and the record is then stored without `payload`.
 */
export function jsonbCanHold(body: Buffer): boolean {
  if (!isUtf8(body)) return false;
  const scan = scanJson(body, MAX_JSON_DEPTH);
  return scan.depth <= MAX_JSON_DEPTH && !scan.escapedNul && !scan.loneSurrogate;
}
