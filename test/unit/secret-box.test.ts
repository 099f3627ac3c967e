import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKeyring, parseEncryptionKey } from '../../src/secrets/secret-box.js';

const key = () => randomBytes(32);

describe('secret box', () => {
  it('seals with AES-256-GCM under the newest key and opens with any configured key', () => {
    const [older, newer] = [key(), key()];
    const sealedOld = createKeyring([older]).seal('s3cret');
    const ring = createKeyring([newer, older]);
    expect(ring.open(sealedOld)).toBe('s3cret');
    expect(ring.needsResealing(sealedOld)).toBe(true);
    const sealedNew = ring.seal('s3cret');
    expect(sealedNew).not.toContain('s3cret');
    expect(ring.needsResealing(sealedNew)).toBe(false);
    expect(ring.seal('s3cret')).not.toBe(sealedNew);
  });

  it('refuses a tampered value and a value under an unknown key', () => {
    const ring = createKeyring([key()]);
    const sealed = ring.seal('s3cret');
    const tampered = `${sealed.slice(0, -2)}${sealed.endsWith('A') ? 'B' : 'A'}A`;
    expect(() => ring.open(tampered)).toThrow();
    expect(() => createKeyring([key()]).open(sealed)).toThrow(/not in HOOKGATE_ENCRYPTION_KEYS/);
  });

  it('accepts 32-byte keys in base64 or hex only', () => {
    expect(parseEncryptionKey(randomBytes(32).toString('base64'))).toHaveLength(32);
    expect(parseEncryptionKey(randomBytes(32).toString('hex'))).toHaveLength(32);
    expect(parseEncryptionKey(randomBytes(16).toString('base64'))).toBeUndefined();
    expect(parseEncryptionKey('not a key')).toBeUndefined();
  });
});
