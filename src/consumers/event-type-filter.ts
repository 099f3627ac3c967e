import { sql, type SQL } from 'drizzle-orm';

/**
 * Destination event-type filters: exact names (`order.created`) and trailing wildcards (`order.*`,
 * or `*` for everything); an empty filter takes every event. An event without a type matches only
 * an empty filter (or `*`). The persist statement runs the same rule in SQL (`EVENT_TYPE_MATCH_SQL`
 * below, written out there as fixed text); both are tested together in destination-policies tests.
 */
export const EVENT_TYPE_PATTERN = /^(\*|[A-Za-z0-9_.:/-]{1,200}(\.\*|\*)?)$/;

export function matchesEventTypes(patterns: readonly string[], eventType: string | null): boolean {
  if (patterns.length === 0) return true;
  return patterns.some((pattern) => {
    if (pattern.endsWith('*')) return eventType !== null ? eventType.startsWith(pattern.slice(0, -1)) : pattern === '*';
    return pattern === eventType;
  });
}

/** The same rule for drizzle queries (bulk replay preview): `patterns` is a text[] column, `eventType` a text column. */
export function eventTypeMatches(patterns: SQL | unknown, eventType: SQL | unknown): SQL {
  return sql`(cardinality(${patterns}) = 0 or exists (
    select 1 from unnest(${patterns}) as p(pattern)
    where p.pattern = ${eventType}
       or p.pattern = '*'
       or (right(p.pattern, 1) = '*' and starts_with(${eventType}, left(p.pattern, -1)))))`;
}
