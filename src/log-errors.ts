/**
 * What a log line may say about an error (STYLE.md §14). A database error's message, detail and
 * the query that failed carry values — a request's secret, a webhook's body — so a database error
 * is described by its SQLSTATE, its constraint and the operation only, never by its text. The
 * check walks the cause chain, because drizzle and yoga wrap the driver's error in their own.
 */

export interface DatabaseErrorSummary {
  name: 'DatabaseError';
  sqlState: string;
  constraint?: string;
  table?: string;
  operation?: string;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;
// "Failed query: insert into "integrations" (...) values ($1, ...) \nparams: <values>" (drizzle).
const FAILED_QUERY = /Failed query:[\s\S]*/;
const OPERATION = /^\s*(?:with\s+[\s\S]*?\)\s*)?(select|insert\s+into|update|delete\s+from)\s+"?([A-Za-z_][A-Za-z0-9_]*)"?/i;

type ErrorLike = Record<string, unknown>;

/** An error and what it wraps (`cause`, or a driver's `originalError`), outermost first, at most six. */
export function causes(error: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  let current: unknown = error;
  while (current && typeof current === 'object' && chain.length < 6 && !chain.includes(current as ErrorLike)) {
    chain.push(current as ErrorLike);
    const next = current as ErrorLike;
    current = next.originalError ?? next.cause;
  }
  return chain;
}

const isDriverError = (error: ErrorLike) =>
  typeof error.code === 'string' && SQLSTATE.test(error.code) && ('severity' in error || 'routine' in error || 'severity_local' in error);
const isFailedQuery = (error: ErrorLike) => typeof error.query === 'string' && 'params' in error;

/** The operation a query performed, from its fixed text: `insert integrations`. Never its values. */
export function operationOf(query: string): string | undefined {
  const match = OPERATION.exec(query);
  return match ? `${match[1]!.split(/\s+/)[0]!.toLowerCase()} ${match[2]}` : undefined;
}

/** A database error's loggable summary, or undefined when nothing in the chain is a database error. */
export function databaseErrorSummary(error: unknown): DatabaseErrorSummary | undefined {
  const chain = causes(error);
  const driver = chain.find(isDriverError);
  const failed = chain.find(isFailedQuery);
  if (!driver && !failed) return undefined;
  const summary: DatabaseErrorSummary = { name: 'DatabaseError', sqlState: (driver?.code as string | undefined) ?? 'unknown' };
  const constraint = driver?.constraint_name ?? driver?.constraint;
  if (typeof constraint === 'string') summary.constraint = constraint;
  const table = driver?.table_name ?? driver?.table;
  if (typeof table === 'string') summary.table = table;
  const operation = typeof failed?.query === 'string' ? operationOf(failed.query) : typeof driver?.query === 'string' ? operationOf(driver.query) : undefined;
  if (operation) summary.operation = operation;
  return summary;
}

/** How an error appears in a log line. */
export function describeError(error: Error): Record<string, unknown> {
  const database = databaseErrorSummary(error);
  if (database) return { ...database };
  return { name: error.name, message: scrubText(error.message), stack: error.stack === undefined ? undefined : scrubText(error.stack) };
}

/** Text that quotes a failed query (and so its parameters) keeps only what came before the quote. */
export function scrubText(text: string): string {
  return FAILED_QUERY.test(text) ? text.replace(FAILED_QUERY, 'Failed query: [query and parameters withheld]') : text;
}
