import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eventIdFor, HOOKGATE_NAMESPACE, requestIdFrom, uuidV5 } from '../../src/ids.js';

/** RFC 9562 §5.5 spelled out, independent of ids.ts's buffers. */
function referenceUuidV5(name: string, namespace: string): string {
  const digest = createHash('sha1').update(Buffer.from(namespace.replaceAll('-', ''), 'hex')).update(name, 'utf8').digest();
  digest[6] = (digest[6]! & 0x0f) | 0x50;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  const hex = digest.subarray(0, 16).toString('hex');
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join('-');
}

describe('uuidV5', () => {
  it('matches the RFC example for the DNS namespace', () => {
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it("derives Hookgate's ids as RFC 9562 does, for names of any length and any text, one after another", () => {
    const names = ['', 'c23e51a4:evt_1', 'ünïcødé 🙂', 'lone \ud800 surrogate', 'k'.repeat(1365), 'k'.repeat(1366), '🙂'.repeat(3000), 'short again'];
    for (const name of names) expect(uuidV5(name), name.slice(0, 20)).toBe(referenceUuidV5(name, HOOKGATE_NAMESPACE));
  });

  it('gives the same webhook the same event id, and a different key a different one', () => {
    const integration = 'c23e51a4-0550-435c-a194-a91bd457fae6';
    expect(eventIdFor(integration, 'evt_1')).toBe(eventIdFor(integration, 'evt_1'));
    expect(eventIdFor(integration, 'evt_1')).not.toBe(eventIdFor(integration, 'evt_2'));
    expect(eventIdFor(integration, 'evt_1')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('requestIdFrom', () => {
  it('keeps a sane caller id and replaces anything else', () => {
    expect(requestIdFrom('req-123')).toBe('req-123');
    expect(requestIdFrom('bad id with spaces')).not.toBe('bad id with spaces');
    expect(requestIdFrom(undefined)).toMatch(/^[0-9a-f-]{36}$/);
  });
});
