import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/**
 * Public-key signatures through node:crypto (Discord's Ed25519, SendGrid's ECDSA P-256). Verifying
 * needs no secret, so there is nothing to compare in constant time; the key is what each
 * integration configures in place of a shared secret, and rotates the same way.
 */

// Ed25519 keys arrive as 32 raw bytes in hex (Discord's dashboard); node:crypto wants SPKI DER.
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const HEX_32_BYTES = /^[0-9a-fA-F]{64}$/;

// Parsing a key costs far more than checking a signature with it: keep the few configured ones.
const parsed = new Map<string, KeyObject | null>();
const MAX_CACHED_KEYS = 256;

/** A public key from PEM, 32-byte hex (Ed25519) or base64 DER SPKI (SendGrid); null when unreadable. */
export function publicKeyFrom(text: string): KeyObject | null {
  const cached = parsed.get(text);
  if (cached !== undefined) return cached;
  let key: KeyObject | null;
  try {
    const trimmed = text.trim();
    if (trimmed.startsWith('-----BEGIN')) key = createPublicKey(trimmed);
    else if (HEX_32_BYTES.test(trimmed)) key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(trimmed, 'hex')]), format: 'der', type: 'spki' });
    else key = createPublicKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'spki' });
  } catch {
    key = null;
  }
  if (parsed.size >= MAX_CACHED_KEYS) parsed.clear();
  parsed.set(text, key);
  return key;
}

/**
 * True when any configured key (current or previous during rotation) verifies `signature` over
 * `data`. A key of the wrong type simply fails. ECDSA signatures are DER, as SendGrid sends them.
 */
export function anyKeyVerifies(keys: readonly string[], kind: 'ed25519' | 'ecdsa-p256', data: Buffer, signature: Buffer): boolean {
  let matched = false;
  for (const text of keys) {
    const key = publicKeyFrom(text);
    if (!key || key.asymmetricKeyType !== (kind === 'ed25519' ? 'ed25519' : 'ec')) continue;
    try {
      if (verify(kind === 'ed25519' ? null : 'sha256', data, key, signature)) matched = true;
    } catch {
      // A malformed signature for this key type is a mismatch, not an error.
    }
  }
  return matched;
}

/** Signs as the provider does, with a PKCS#8 PEM private key (samples and tests only). */
export function signWithPrivateKey(kind: 'ed25519' | 'ecdsa-p256', privateKeyPem: string, data: Buffer): Buffer {
  return sign(kind === 'ed25519' ? null : 'sha256', data, createPrivateKey(privateKeyPem));
}
