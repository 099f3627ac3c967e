import { describe, expect, it } from 'vitest';
import { jsonbCanHold, mayNestDeeperThan, MAX_JSON_DEPTH, scanJson } from '../../src/json/scan-json.js';

const scan = (text: string) => scanJson(Buffer.from(text));

describe('scanJson', () => {
  it('measures nesting without counting brackets inside strings', () => {
    expect(scan('{}').depth).toBe(1);
    expect(scan('{"a":[[{"b":[]}]]}').depth).toBe(5);
    expect(scan('{"a":"[[[[{{{{"}').depth).toBe(1);
    expect(scan('{"a":"\\"[[["}').depth).toBe(1);
  });

  it('stops early past the limit, whatever the depth (no recursion, no stack)', () => {
    const deep = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`;
    expect(scan(deep).depth).toBe(1_000_000);
    expect(scanJson(Buffer.from(deep), MAX_JSON_DEPTH).depth).toBe(MAX_JSON_DEPTH + 1);
  });

  it('answers whether a body nests deeper than a limit, by counting brackets first and scanning only when there are many', () => {
    const nested = (levels: number) => Buffer.from(`${'['.repeat(levels)}${']'.repeat(levels)}`);
    expect(mayNestDeeperThan(nested(3), 3)).toBe(false);
    expect(mayNestDeeperThan(nested(4), 3)).toBe(true);
    expect(mayNestDeeperThan(Buffer.from('{"a":[{"b":1}]}'), 3)).toBe(false);
    expect(mayNestDeeperThan(Buffer.from('{"a":[{"b":{}}]}'), 3)).toBe(true);
    // Many brackets, shallow (siblings, or inside strings): the scan decides, and says no.
    expect(mayNestDeeperThan(Buffer.from(JSON.stringify({ list: Array.from({ length: 500 }, () => ({})), text: '[[[[{{{{'.repeat(50) })), 3)).toBe(false);
    expect(mayNestDeeperThan(nested(1_000_000), MAX_JSON_DEPTH)).toBe(true);
    for (let i = 0; i < 200; i++) {
      const levels = Math.floor(Math.random() * 12);
      const body = Buffer.from(`${'{"k":['.repeat(levels)}"ü[{"${']}'.repeat(levels)}`);
      expect(mayNestDeeperThan(body, 10)).toBe(scanJson(body).depth > 10);
    }
  });

  it('finds escaped NULs and lone surrogates, and not their look-alikes', () => {
    expect(scan('{"a":"x\\u0000"}').escapedNul).toBe(true);
    expect(scan('{"a":"x\\\\u0000"}').escapedNul).toBe(false);
    expect(scan('{"a":"\\ud800"}').loneSurrogate).toBe(true);
    expect(scan('{"a":"\\udc00"}').loneSurrogate).toBe(true);
    expect(scan('{"a":"\\ud800x"}').loneSurrogate).toBe(true);
    expect(scan('{"a":"\\ud800\\u0041"}').loneSurrogate).toBe(true);
    expect(scan('{"a":"\\uD83D\\uDE00"}').loneSurrogate).toBe(false);
    expect(scan('{"a":"\\\\ud800"}').loneSurrogate).toBe(false);
  });

  it('says jsonb can hold a body only when it is UTF-8, NUL- and lone-surrogate-free and not too deep', () => {
    expect(jsonbCanHold(Buffer.from('{"a":"✓","b":[1,2]}'))).toBe(true);
    expect(jsonbCanHold(Buffer.from('{"a":"\\u0000"}'))).toBe(false);
    expect(jsonbCanHold(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))).toBe(false);
    expect(jsonbCanHold(Buffer.from(`{"d":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`))).toBe(false);
  });
});
