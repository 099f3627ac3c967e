import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics (prom-client), one registry per running app so that several apps in one
 * process (tests) never share or clash. Labels stay bounded: provider slugs (configured, and
 * `(unknown)` for any other name), outcome and error codes, destination ids (configured),
 * partitions, and GraphQL operation names capped in number. Never an event id, a URL or a secret.
 */
export interface Metrics {
  registry: Registry;
  ingressRequests: Counter<'provider' | 'outcome'>;
  ingressRateLimited: Counter<'provider'>;
  ingressProduceSeconds: Histogram;
  ingressBodyBytes: Histogram<'provider'>;
  persistBatchSize: Histogram;
  persistBatchSeconds: Histogram;
  persistEvents: Counter<'result'>;
  persistDeadLettered: Counter;
  deliveryOutcomes: Counter<'outcome'>;
  deliveryAttemptSeconds: Histogram<'destination' | 'result'>;
  deliveryRetries: Counter;
  graphqlOperations: Counter<'operation' | 'type' | 'result'>;
  graphqlSeconds: Histogram<'operation' | 'type'>;
  liveSubscriptions: Gauge;
  /** Gauges read at scrape time (lag, backlog): each role adds its own source. */
  onScrape(collect: () => Promise<void>): void;
  /** The exposition text, after every scrape-time source ran (a failing one leaves its gauges as they were). */
  render(): Promise<string>;
  /** A bounded label for a client-chosen GraphQL operation name. */
  operationLabel(name: string | null | undefined): string;
}

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const MAX_OPERATION_NAMES = 200;

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'hookgate_process_' });
  const registers = [registry];
  const scrapers: (() => Promise<void>)[] = [];
  const operationNames = new Set<string>();

  return {
    registry,
    ingressRequests: new Counter({
      name: 'hookgate_ingress_requests_total',
      help: 'Webhooks answered by the ingress, by provider and outcome (accepted, or the error code: SIGNATURE_INVALID, TIMESTAMP_TOO_OLD, RATE_LIMITED, …)',
      labelNames: ['provider', 'outcome'],
      registers,
    }),
    ingressRateLimited: new Counter({ name: 'hookgate_ingress_rate_limited_total', help: 'Webhooks refused with 429', labelNames: ['provider'], registers }),
    ingressProduceSeconds: new Histogram({
      name: 'hookgate_ingress_produce_duration_seconds',
      help: 'From handing a webhook to the event log until its acknowledgement (acks=all)',
      buckets: SECONDS,
      registers,
    }),
    ingressBodyBytes: new Histogram({
      name: 'hookgate_ingress_body_bytes',
      help: 'Size of accepted webhook bodies',
      labelNames: ['provider'],
      buckets: [256, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304],
      registers,
    }),
    persistBatchSize: new Histogram({ name: 'hookgate_persist_batch_size', help: 'Records per persisted batch', buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000], registers }),
    persistBatchSeconds: new Histogram({ name: 'hookgate_persist_batch_duration_seconds', help: 'Time to persist one batch, retries included', buckets: SECONDS, registers }),
    persistEvents: new Counter({ name: 'hookgate_persist_events_total', help: 'Records persisted, by result (inserted, duplicate)', labelNames: ['result'], registers }),
    persistDeadLettered: new Counter({ name: 'hookgate_persist_dead_lettered_total', help: 'Records moved to the dead-letter topic', registers }),
    deliveryOutcomes: new Counter({
      name: 'hookgate_deliveries_total',
      help: 'Delivery attempts by the status they led to (SUCCEEDED, RETRYING, FAILED, CANCELLED)',
      labelNames: ['outcome'],
      registers,
    }),
    deliveryAttemptSeconds: new Histogram({
      name: 'hookgate_delivery_attempt_duration_seconds',
      help: 'One delivery attempt (resolution, connection, request, response) by destination id and result (2xx, 4xx, 5xx, or the error class)',
      labelNames: ['destination', 'result'],
      buckets: SECONDS,
      registers,
    }),
    deliveryRetries: new Counter({ name: 'hookgate_delivery_retries_total', help: 'Attempts that scheduled another (RETRYING)', registers }),
    graphqlOperations: new Counter({
      name: 'hookgate_graphql_operations_total',
      help: 'GraphQL operations by name (capped), type and result (ok, error)',
      labelNames: ['operation', 'type', 'result'],
      registers,
    }),
    graphqlSeconds: new Histogram({ name: 'hookgate_graphql_operation_duration_seconds', help: 'GraphQL operation execution time', labelNames: ['operation', 'type'], buckets: SECONDS, registers }),
    liveSubscriptions: new Gauge({ name: 'hookgate_graphql_subscriptions', help: 'GraphQL subscriptions open now (WebSocket and SSE)', registers }),
    onScrape(collect) {
      scrapers.push(collect);
    },
    async render() {
      await Promise.all(scrapers.map((collect) => collect().catch(() => undefined)));
      return registry.metrics();
    },
    operationLabel(name) {
      if (!name) return '(anonymous)';
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) return '(invalid)';
      if (operationNames.has(name)) return name;
      // Names are the client's choice: past the cap they share one series.
      if (operationNames.size >= MAX_OPERATION_NAMES) return '(other)';
      operationNames.add(name);
      return name;
    },
  };
}

/** The `result` label of an attempt: its status class, or the error class. */
export function attemptResult(attempt: { statusCode: number | null; errorClass: string | null }): string {
  if (attempt.statusCode !== null) return `${Math.floor(attempt.statusCode / 100)}xx`;
  return attempt.errorClass ?? 'ERROR';
}

/**
 * A metric's children by label values, kept: prom-client turns a label object into its key by
 * sorting the label names on every call, which a per-request path should not pay. Values outside
 * the first `max` combinations are still counted, just not kept.
 */
export function labelled<T extends string>(metric: Counter<T>, max?: number): (...values: string[]) => Counter.Internal;
export function labelled<T extends string>(metric: Histogram<T>, max?: number): (...values: string[]) => Histogram.Internal<T>;
export function labelled(metric: Counter<string> | Histogram<string>, max = 1000): (...values: string[]) => unknown {
  const children = new Map<string, unknown>();
  return (...values) => {
    const key = values.join('\u0000');
    let child = children.get(key);
    if (child === undefined) {
      child = metric.labels(...values);
      if (children.size < max) children.set(key, child);
    }
    return child;
  };
}
