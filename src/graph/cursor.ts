import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { GraphQLError } from 'graphql';
import { sql, type AnyColumn, type SQL } from 'drizzle-orm';

/**
 * Keyset cursors: a list ordered by (time, id) resumes after the last row seen, so pages
 * neither skip nor repeat rows when new ones arrive, and cost the same on page 1 and page 10,000.
 */
export interface KeysetPosition {
  at: Date;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([position.at.toISOString(), position.id])).toString('base64url');
}

export function decodeCursor(cursor: string, argument: string): KeysetPosition {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && typeof value[0] === 'string' && typeof value[1] === 'string' && UUID.test(value[1])) {
      const at = new Date(value[0]);
      if (!Number.isNaN(at.getTime())) return { at, id: value[1] };
    }
  } catch {
    // fall through to the error below
  }
  throw new GraphQLError(`"${argument}" is not a cursor returned by this list`, {
    extensions: { code: 'BAD_USER_INPUT', argument },
  });
}

export const MAX_PAGE_SIZE = 100;

export function assertPageSize(args: { first?: number | null; last?: number | null }): void {
  for (const name of ['first', 'last'] as const) {
    const value = args[name];
    if (value != null && (value < 0 || value > MAX_PAGE_SIZE)) {
      throw new GraphQLError(`"${name}" must be between 0 and ${MAX_PAGE_SIZE}`, {
        extensions: { code: 'BAD_USER_INPUT', argument: name },
      });
    }
  }
}

/**
 * The WHERE and ORDER BY of one page. Lists run newest first; `inverted` (paging backwards)
 * reads oldest first and the relay helper reverses the rows back.
 */
export function keysetPage(
  columns: { at: AnyColumn; id: AnyColumn },
  page: { before?: string; after?: string; inverted: boolean },
): { where: SQL[]; orderBy: SQL[] } {
  const where: SQL[] = [];
  if (page.after) {
    const p = decodeCursor(page.after, 'after');
    where.push(sql`(${columns.at}, ${columns.id}) < (${p.at.toISOString()}::timestamptz, ${p.id}::uuid)`);
  }
  if (page.before) {
    const p = decodeCursor(page.before, 'before');
    where.push(sql`(${columns.at}, ${columns.id}) > (${p.at.toISOString()}::timestamptz, ${p.id}::uuid)`);
  }
  const direction = page.inverted ? sql`asc` : sql`desc`;
  return { where, orderBy: [sql`${columns.at} ${direction}`, sql`${columns.id} ${direction}`] };
}

/**
 * One Relay connection over a keyset-ordered table: validates the page size, decodes cursors,
 * and hands `fetchPage` the WHERE, ORDER BY and LIMIT of the page asked for.
 */
export async function keysetConnection<T extends { id: string }>(
  args: { first?: number | null; last?: number | null; before?: string | null; after?: string | null },
  columns: { at: AnyColumn; id: AnyColumn },
  atOf: (row: T) => Date,
  fetchPage: (page: { where: SQL[]; orderBy: SQL[]; limit: number }) => Promise<T[]>,
) {
  assertPageSize(args);
  return resolveCursorConnection({ args, toCursor: (row: T) => encodeCursor({ at: atOf(row), id: row.id }) }, (page: ResolveCursorConnectionArgs) =>
    fetchPage({ ...keysetPage(columns, page), limit: page.limit }),
  );
}
