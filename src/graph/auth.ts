import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Management keys are compared as SHA-256 digests in constant time; every configured key is
 * checked (no early exit), so timing tells nothing about which key or how much of it matched.
 */
export interface Caller {
  /** A non-secret name for the key: `key:<hash prefix>`, or `read-key:<hash prefix>` for a read-only key. */
  actor: string;
  /** Read-only keys may query and subscribe, never mutate. */
  readOnly: boolean;
}

export interface ManagementKeys {
  /** Who the caller is when the key is valid, else null. */
  authenticate(presented: string | null | undefined): Caller | null;
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** A short, stable, non-reversible name for a key, safe for audit entries and logs. */
export function keyId(key: string): string {
  return `key:${digest(key).toString('hex').slice(0, 12)}`;
}

export function createManagementKeys(keys: readonly string[], readKeys: readonly string[] = []): ManagementKeys {
  // A key listed as both is a full key: the narrower grant never takes a configured right away.
  const known = [
    ...readKeys.filter((key) => !keys.includes(key)).map((key) => ({ digest: digest(key), caller: { actor: `read-${keyId(key)}`, readOnly: true } })),
    ...keys.map((key) => ({ digest: digest(key), caller: { actor: keyId(key), readOnly: false } })),
  ];
  return {
    authenticate(presented) {
      if (!presented) return null;
      const candidate = digest(presented);
      let caller: Caller | null = null;
      for (const key of known) {
        if (timingSafeEqual(candidate, key.digest)) caller = key.caller;
      }
      return caller;
    },
  };
}
