import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createKeyring, generateEncryptionKey, parseEncryptionKey, type Keyring } from './secret-box.js';

export const GENERATED_KEY_FILE = 'encryption-key';

/**
 * The configured keys, newest first; without any (embedded mode, or outside production) one is
 * generated once into the data folder, readable by its owner only. Production without keys is
 * refused by the configuration unless embedded backends were explicitly allowed.
 */
export async function loadKeyring(options: { keys: readonly string[]; dataDir: string }): Promise<Keyring> {
  if (options.keys.length > 0) return createKeyring(options.keys.map((key) => parseEncryptionKey(key)!));
  const path = join(options.dataDir, GENERATED_KEY_FILE);
  let stored = (await readFile(path, 'utf8').catch(() => '')).trim();
  if (!stored) {
    stored = generateEncryptionKey();
    await mkdir(options.dataDir, { recursive: true });
    await writeFile(path, `${stored}\n`, { mode: 0o600, flag: 'wx' }).catch(async (error: NodeJS.ErrnoException) => {
      // Another process of the same data folder generated it first: use theirs.
      if (error.code !== 'EEXIST') throw error;
      stored = (await readFile(path, 'utf8')).trim();
    });
  }
  const key = parseEncryptionKey(stored);
  if (!key) throw new Error(`${path} does not hold a 32-byte base64 key`);
  return createKeyring([key]);
}
