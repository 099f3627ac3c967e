/**
 * What a failed database (or broker) call means for the record that caused it (DESIGN.md §2,
 * persist consumers):
 * - `data`: the record itself is refused and will be refused the same way on every retry —
 *   SQLSTATE class 22 (data exception: a NUL in text, malformed jsonb, a number out of range),
 *   23 (integrity: a foreign key or NOT NULL the record breaks) and 54 (program limit: a value too
 *   deep or too large). Retrying would stop the partition forever; the record is isolated instead.
 * - `availability`: everything else — a lost connection, a serialization failure, a server
 *   shutting down, a timeout. The same call can succeed later, so it is retried.
 * Unknown errors count as availability on purpose: retrying a record that could have been stored
 * costs time, while dead-lettering it would lose a webhook that a 202 promised to keep.
 */
export type FailureKind = 'data' | 'availability';

const DATA_CLASSES = new Set(['22', '23', '54']);

/** The SQLSTATE of a postgres.js or PGlite error, also when wrapped (drizzle puts it in `cause`). */
export function sqlStateOf(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && typeof current === 'object' && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function failureKindOf(error: unknown): FailureKind {
  const state = sqlStateOf(error);
  return state !== undefined && DATA_CLASSES.has(state.slice(0, 2)) ? 'data' : 'availability';
}

/** For logs: the SQLSTATE or the error's own code, never its message (which may quote a value). */
export function failureCodeOf(error: unknown): string {
  const state = sqlStateOf(error);
  if (state) return state;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return (error as { name?: unknown } | null)?.name === undefined ? 'unknown' : String((error as Error).name);
}
