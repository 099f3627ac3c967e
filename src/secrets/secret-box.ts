import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Secrets at rest (issue 12): AES-256-GCM under the newest of the configured keys
 * (`HOOKGATE_ENCRYPTION_KEYS`, newest first), each stored value naming its key by a short
 * non-secret id so older keys keep opening what they sealed until `hookgate secrets rotate`
 * re-seals everything under the newest. Stored form: `hg1:<key id>:<base64url(iv|tag|ciphertext)>`.
 *
 * The secret columns seal and open through this module's keyring (see `encryptedText` in
 * db/schema.ts), so no code path can write a secret in the clear by forgetting to: a write
 * without a keyring fails. It is the one piece of process-wide state, set once at start.
 */

export const SEALED_PREFIX = 'hg1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface Keyring {
  /** The id of the newest key: what `seal` uses. */
  readonly currentKeyId: string;
  seal(plaintext: string): string;
  open(stored: string): string;
  /** True when a stored value is not sealed under the newest key (or not sealed at all). */
  needsResealing(stored: string): boolean;
}

export const keyIdOf = (key: Buffer) => createHash('sha256').update('hookgate-encryption-key:').update(key).digest('hex').slice(0, 8);

/** A key as configured: base64 (44 characters) or hex (64 characters) of 32 random bytes. */
export function parseEncryptionKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  return key.length === 32 && (/^[0-9a-f]{64}$/i.test(trimmed) || key.toString('base64') === trimmed) ? key : undefined;
}

export function generateEncryptionKey(): string {
  return randomBytes(32).toString('base64');
}

export function createKeyring(keys: readonly Buffer[]): Keyring {
  if (keys.length === 0) throw new Error('at least one encryption key is required');
  const byId = new Map(keys.map((key) => [keyIdOf(key), key]));
  const newest = keys[0]!;
  const currentKeyId = keyIdOf(newest);
  return {
    currentKeyId,
    seal(plaintext) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', newest, iv);
      // The key id is authenticated too: a value cannot be moved under another key's name.
      cipher.setAAD(Buffer.from(currentKeyId));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return `${SEALED_PREFIX}${currentKeyId}:${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64url')}`;
    },
    open(stored) {
      // Rows written before encryption (or by raw SQL in tests and seeds) are plain until the
      // start-up step or `hookgate secrets rotate` seals them.
      if (!stored.startsWith(SEALED_PREFIX)) return stored;
      const [keyId = '', payload = ''] = stored.slice(SEALED_PREFIX.length).split(':', 2);
      const key = byId.get(keyId);
      if (!key) throw new Error(`a stored secret is sealed under key ${keyId}, which is not in HOOKGATE_ENCRYPTION_KEYS`);
      const bytes = Buffer.from(payload, 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(keyId));
      decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    },
    needsResealing(stored) {
      return !stored.startsWith(`${SEALED_PREFIX}${currentKeyId}:`);
    },
  };
}

let installed: Keyring | undefined;

/** Sets the process's keyring (at start, before the database is used). */
export function installKeyring(keyring: Keyring): void {
  installed = keyring;
}

export function currentKeyring(): Keyring {
  if (!installed) throw new Error('no encryption keys are loaded: secrets cannot be read or written');
  return installed;
}
