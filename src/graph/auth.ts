import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Management keys are compared as SHA-256 digests in constant time; every configured key is
 * checked (no early exit), so timing tells nothing about which key or how much of it matched.
 */
export interface ManagementKeys {
  /** The caller's non-secret actor name (`key:<hash prefix>`) when the key is valid, else null. */
  authenticate(presented: string | null | undefined): string | null;
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** A short, stable, non-reversible name for a key, safe for audit entries and logs. */
export function keyId(key: string): string {
  return `key:${digest(key).toString('hex').slice(0, 12)}`;
}

export function createManagementKeys(keys: readonly string[]): ManagementKeys {
  const known = keys.map((key) => ({ digest: digest(key), id: keyId(key) }));
  return {
    authenticate(presented) {
      if (!presented) return null;
      const candidate = digest(presented);
      let actor: string | null = null;
      for (const key of known) {
        if (timingSafeEqual(candidate, key.digest)) actor = key.id;
      }
      return actor;
    },
  };
}
