import { sql } from 'drizzle-orm';
import { rowsOf, type Database } from '../db/client.js';
import { SEALED_PREFIX, type Keyring } from './secret-box.js';

/** The columns that hold secrets. Fixed names: no identifier comes from input. */
const SECRET_COLUMNS = [
  { table: 'integrations', column: 'secret' },
  { table: 'integrations', column: 'previous_secret' },
  { table: 'destinations', column: 'secret' },
  { table: 'destinations', column: 'previous_secret' },
  { table: 'destinations', column: 'headers' },
] as const;

export interface ResealReport {
  /** Values sealed or re-sealed under the newest key, per `table.column`. */
  resealed: Record<string, number>;
  total: number;
}

/**
 * Seals every secret that is not sealed under the newest key: plain values left from before
 * encryption (run at every start, so existing rows are migrated without a SQL step — SQL cannot
 * encrypt with a key it must never see), and values under older keys (`hookgate secrets rotate`).
 * Each row is updated only if it still holds the value read, so concurrent starts and
 * concurrent rotations cannot overwrite each other.
 */
export async function resealSecrets(db: Database, keyring: Keyring, options: { plainOnly?: boolean } = {}): Promise<ResealReport> {
  const resealed: Record<string, number> = {};
  let total = 0;
  for (const { table, column } of SECRET_COLUMNS) {
    const name = `${table}.${column}`;
    resealed[name] = 0;
    const rows = rowsOf<{ id: string; value: string }>(
      await db.execute(sql`select id, ${sql.identifier(column)} as value from ${sql.identifier(table)} where ${sql.identifier(column)} is not null`),
    );
    for (const row of rows) {
      if (options.plainOnly ? row.value.startsWith(SEALED_PREFIX) : !keyring.needsResealing(row.value)) continue;
      const sealed = keyring.seal(keyring.open(row.value));
      const updated = rowsOf<{ id: string }>(
        await db.execute(
          sql`update ${sql.identifier(table)} set ${sql.identifier(column)} = ${sealed} where id = ${row.id} and ${sql.identifier(column)} = ${row.value} returning id`,
        ),
      );
      resealed[name] += updated.length;
      total += updated.length;
    }
  }
  return { resealed, total };
}

/** The start-up step: seals what was stored in the clear; values under older keys wait for `secrets rotate`. */
export async function resealPlainSecrets(db: Database, keyring: Keyring): Promise<number> {
  return (await resealSecrets(db, keyring, { plainOnly: true })).total;
}
