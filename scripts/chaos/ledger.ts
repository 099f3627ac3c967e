/**
 * The chaos run's ledger (STYLE.md §15: a guarantee is a count). Pure: it compares what the
 * senders were told with what the database holds and what the receiver saw.
 */
export interface LedgerInput {
  /** Body sent, per webhook key. */
  sent: Map<string, Buffer>;
  /** Event id answered with 202, per webhook key. */
  accepted: Map<string, string>;
  /** Raw body stored, per event id. */
  stored: Map<string, Buffer>;
  /** POSTs the receiver saw, per webhook-id (the event id). */
  deliveries: Map<string, number>;
  statuses: Map<number, number>;
  violations: string[];
  connectionErrors: number;
  connectionErrorSamples: string[];
  gaveUp: string[];
  /** Processes that exited without being told to. */
  unexpectedExits: string[];
  maxDuplicateRatio: number;
}

export interface LedgerCheck {
  name: string;
  ok: boolean;
  detail: string;
}

const sample = (items: Iterable<string>, n = 5) => [...items].slice(0, n).join(', ');

export function judgeLedger(input: LedgerInput): { ok: boolean; checks: LedgerCheck[]; counts: Record<string, number> } {
  const acceptedIds = new Set(input.accepted.values());
  const missing = [...acceptedIds].filter((id) => !input.stored.has(id));
  const extra = [...input.stored.keys()].filter((id) => !acceptedIds.has(id));
  const bodyMismatch: string[] = [];
  for (const [key, eventId] of input.accepted) {
    const stored = input.stored.get(eventId);
    if (stored && !stored.equals(input.sent.get(key)!)) bodyMismatch.push(key);
  }
  const undelivered = [...acceptedIds].filter((id) => !input.deliveries.has(id));
  let duplicatePosts = 0;
  for (const [id, posts] of input.deliveries) if (acceptedIds.has(id)) duplicatePosts += posts - 1;
  const duplicated = [...input.deliveries].filter(([id, posts]) => acceptedIds.has(id) && posts > 1).map(([id]) => id);
  const duplicateRatio = acceptedIds.size === 0 ? 0 : duplicatePosts / acceptedIds.size;
  const allowed = new Set([202, 429, 503]);
  const otherStatuses = [...input.statuses.keys()].filter((status) => !allowed.has(status));

  const checks: LedgerCheck[] = [
    { name: 'every webhook accepted in the end', ok: input.gaveUp.length === 0, detail: `${input.gaveUp.length} given up ${sample(input.gaveUp)}` },
    { name: 'ids answered 202 = rows stored: none missing', ok: missing.length === 0, detail: `${missing.length} missing ${sample(missing)}` },
    { name: 'ids answered 202 = rows stored: none extra', ok: extra.length === 0, detail: `${extra.length} extra ${sample(extra)}` },
    { name: 'raw bodies byte-equal', ok: bodyMismatch.length === 0, detail: `${bodyMismatch.length} differ ${sample(bodyMismatch)}` },
    { name: 'every accepted webhook delivered at least once', ok: undelivered.length === 0, detail: `${undelivered.length} undelivered ${sample(undelivered)}` },
    {
      name: `duplicate deliveries ≤ ${(input.maxDuplicateRatio * 100).toFixed(0)}%`,
      ok: duplicateRatio <= input.maxDuplicateRatio,
      detail: `${duplicatePosts} duplicate POSTs (${(duplicateRatio * 100).toFixed(2)}%) ${sample(duplicated, 3)}`,
    },
    {
      name: 'only 202, 429 and 503 with Retry-After',
      ok: otherStatuses.length === 0 && input.violations.length === 0,
      detail: `${input.violations.length} violations ${input.violations.slice(0, 3).join(' | ')}`,
    },
    { name: 'the ingress never dropped a connection', ok: input.connectionErrors === 0, detail: `${input.connectionErrors} connection errors ${input.connectionErrorSamples.join(' | ')}` },
    { name: 'every surviving process alive', ok: input.unexpectedExits.length === 0, detail: input.unexpectedExits.join(', ') || 'all alive' },
  ];
  return {
    ok: checks.every((check) => check.ok),
    checks,
    counts: {
      sent: [...input.sent.keys()].length,
      accepted: acceptedIds.size,
      stored: input.stored.size,
      delivered: [...acceptedIds].filter((id) => input.deliveries.has(id)).length,
      duplicatePosts,
      ...Object.fromEntries([...input.statuses].map(([status, n]) => [`status${status}`, n])),
    },
  };
}
