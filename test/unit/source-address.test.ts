import { describe, expect, it } from 'vitest';
import { createSourceAddressResolver } from '../../src/ingress/source-address.js';

describe('source address', () => {
  it('ignores X-Forwarded-For when no proxy is trusted', () => {
    const resolve = createSourceAddressResolver([]);
    expect(resolve('203.0.113.9', '198.51.100.1')).toBe('203.0.113.9');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    const resolve = createSourceAddressResolver(['10.0.0.0/8']);
    expect(resolve('203.0.113.9', '198.51.100.1')).toBe('203.0.113.9');
  });

  it('takes the first untrusted hop from the right behind trusted proxies', () => {
    const resolve = createSourceAddressResolver(['10.0.0.0/8', '192.0.2.7']);
    expect(resolve('10.1.2.3', '198.51.100.1')).toBe('198.51.100.1');
    // The client may prepend anything; only what trusted proxies appended counts.
    expect(resolve('10.1.2.3', '6.6.6.6, 198.51.100.1, 192.0.2.7')).toBe('198.51.100.1');
    expect(resolve('::ffff:10.1.2.3', '198.51.100.1')).toBe('198.51.100.1');
  });

  it('falls back to the peer when the header is garbage', () => {
    const resolve = createSourceAddressResolver(['10.0.0.0/8']);
    expect(resolve('10.1.2.3', 'not-an-ip')).toBe('10.1.2.3');
  });

  it('unwraps IPv4-mapped IPv6 peers', () => {
    expect(createSourceAddressResolver([])('::ffff:127.0.0.1', undefined)).toBe('127.0.0.1');
  });
});
