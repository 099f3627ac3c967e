import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { GraphQLError } from 'graphql';
import { sql, type AnyColumn, type SQL } from 'drizzle-orm';

/**
 * Keyset cursors: a list ordered by (time, id) resumes after the last row seen, so pages
 * neither skip nor repeat rows when new ones arrive, and cost the same on page 1 and page 10,000.
 *
 * The cursor carries the row's time exactly as the database stores it (microseconds), read by
 * the page query itself, never a JavaScript Date: Dates hold milliseconds, and rows sharing a
 * millisecond but not a microsecond (a batch written with one `now()`) would otherwise be skipped.
 */
export interface KeysetPosition {
  /** ISO-8601 in UTC with up to six fractional digits, e.g. 2026-11-23T10:00:00.123456Z. */
  at: string;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const EXACT_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

export function encodeCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([position.at, position.id])).toString('base64url');
}

export function decodeCursor(cursor: string, argument: string): KeysetPosition {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') {
      const [at, id] = value as [string, string];
      if (EXACT_TIME.test(at) && UUID.test(id) && !Number.isNaN(new Date(at).getTime())) return { at, id };
    }
  } catch {
    // fall through to the error below
  }
  throw new GraphQLError(`"${argument}" is not a cursor returned by this list`, {
    extensions: { code: 'BAD_USER_INPUT', argument },
  });
}

/** The stored time as exact UTC text: what a cursor carries. Same output on Postgres and PGlite. */
export function exactTime(column: AnyColumn): SQL<string> {
  return sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
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
    where.push(sql`(${columns.at}, ${columns.id}) < (${p.at}::timestamptz, ${p.id}::uuid)`);
  }
  if (page.before) {
    const p = decodeCursor(page.before, 'before');
    where.push(sql`(${columns.at}, ${columns.id}) > (${p.at}::timestamptz, ${p.id}::uuid)`);
  }
  const direction = page.inverted ? sql`asc` : sql`desc`;
  return { where, orderBy: [sql`${columns.at} ${direction}`, sql`${columns.id} ${direction}`] };
}

export interface KeysetFetch {
  where: SQL[];
  orderBy: SQL[];
  limit: number;
  /** Select this as `keysetAt` alongside the row: the cursor is built from it. */
  keysetAt: SQL<string>;
}

/**
 * One Relay connection over a keyset-ordered table: validates the page size, decodes cursors,
 * and hands `fetchPage` the WHERE, ORDER BY and LIMIT of the page asked for, plus the exact-time
 * column each row must carry as `keysetAt`.
 */
export async function keysetConnection<T extends { id: string; keysetAt: string }>(
  args: { first?: number | null; last?: number | null; before?: string | null; after?: string | null },
  columns: { at: AnyColumn; id: AnyColumn },
  fetchPage: (page: KeysetFetch) => Promise<T[]>,
) {
  assertPageSize(args);
  const connection = await resolveCursorConnection({ args, toCursor: (row: T) => encodeCursor({ at: row.keysetAt, id: row.id }) }, (page: ResolveCursorConnectionArgs) =>
    fetchPage({ ...keysetPage(columns, page), limit: page.limit, keysetAt: exactTime(columns.at) }),
  );
  // An empty page has no cursors (Relay: null), not "" or the cursor the client sent.
  if (connection.edges.length === 0) return { ...connection, pageInfo: { ...connection.pageInfo, startCursor: null, endCursor: null } };
  return connection;
}
