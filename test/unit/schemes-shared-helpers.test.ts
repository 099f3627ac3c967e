import { describe, expect, it } from 'vitest';
import { anySecretMatches, fromBase64, hmacSha256 } from '../../src/ingress/schemes/constant-time.js';
import { parseUnixSeconds, timestampFailure } from '../../src/ingress/schemes/timestamp-tolerance.js';

const at = (milliseconds: number) => new Date(milliseconds);

describe('timestamp tolerance', () => {
  const t = 1_700_000_000;

  it('defaults to 300 seconds, inclusive, in each direction', () => {
    expect(timestampFailure(t, at((t + 300) * 1000))).toBeNull();
    expect(timestampFailure(t, at((t + 301) * 1000))).toBe('TIMESTAMP_TOO_OLD');
    expect(timestampFailure(t, at((t - 300) * 1000))).toBeNull();
    expect(timestampFailure(t, at((t - 301) * 1000))).toBe('TIMESTAMP_TOO_NEW');
  });

  it('compares whole seconds, as the providers do', () => {
    expect(timestampFailure(t, at((t + 300) * 1000 + 999))).toBeNull();
  });

  it('uses a given tolerance', () => {
    expect(timestampFailure(t, at((t + 10) * 1000), 10)).toBeNull();
    expect(timestampFailure(t, at((t + 11) * 1000), 10)).toBe('TIMESTAMP_TOO_OLD');
    expect(timestampFailure(t, at((t - 11) * 1000), 10)).toBe('TIMESTAMP_TOO_NEW');
  });

  it('reads only plain non-negative integers as Unix seconds', () => {
    expect(parseUnixSeconds('1614265330')).toBe(1_614_265_330);
    for (const text of ['', ' 1', '-1', '+1', '1e9', '1.5', '0x10', '1614265330abc', '9'.repeat(16)]) {
      expect(parseUnixSeconds(text), text).toBeNull();
    }
  });
});

describe('fromBase64', () => {
  it('decodes padded standard base64 and refuses anything else', () => {
    expect(fromBase64('aGk=')).toEqual(Buffer.from('hi'));
    expect(fromBase64('aGk')).toBeNull();
    expect(fromBase64('aG-_')).toBeNull();
    expect(fromBase64('aGk= ')).toBeNull();
    expect(fromBase64('')).toBeNull();
  });
});

describe('anySecretMatches', () => {
  it('matches any of several signatures against any secret', () => {
    const signature = hmacSha256('second', 'body');
    expect(anySecretMatches(['first', 'second'], [hmacSha256('other', 'body'), signature], ['body'])).toBe(true);
    expect(anySecretMatches(['first'], [signature], ['body'])).toBe(false);
    expect(anySecretMatches(['first', 'second'], [], ['body'])).toBe(false);
  });
});
