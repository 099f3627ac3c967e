import cluster, { type Worker } from 'node:cluster';
import type { Server } from 'node:http';
import { AggregatorRegistry, type PrometheusContentType } from 'prom-client';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { startMetricsListener } from './observability/metrics-listener.js';
import { metricsRoute, type Route } from './observability/routes.js';
import { closeServer, listen, sendJson } from './http.js';

/**
 * `INGRESS_WORKERS=N`: N ingress processes on one port (node:cluster hands each new connection to
 * the next worker). The ingress is bound by its one event loop, so this helps on a machine with
 * cores to spare beyond what Kafka, Redis and the other roles use; on a 2-core machine shared with
 * them it mostly adds contention (BENCHMARKS.md).
 *
 * The primary runs no role. It forks the workers, starts a replacement when one dies (backing off
 * while replacements die before listening, and giving up after several), serves the workers'
 * metrics summed at METRICS_PORT (prom-client's cluster aggregation; a replaced worker's counters
 * start again from zero, which Prometheus reads as a counter reset) with a liveness answer beside
 * them, and on SIGTERM or SIGINT stops every worker (each drains as a single ingress does) before
 * it exits, non-zero when a worker failed to stop cleanly.
 */

/** A dead worker is replaced after 1 s, doubling to 30 s while replacements die before listening. */
const RESTART_DELAY_MS = { first: 1_000, max: 30_000 };
/** This many workers in a row dying before they listen (a dependency down at boot): the primary gives up. */
const MAX_FAILED_STARTS = 8;
/** Longer than a worker's own shutdown bound (shutdown.ts, 30 s), so a worker's drain is not cut. */
const STOP_BOUND_MS = 35_000;

export function isIngressWorker(): boolean {
  return cluster.isWorker;
}

/** In a worker: answer the primary's requests for this process's metrics. */
export function serveMetricsToPrimary(metrics: Metrics): void {
  // Constructing one installs prom-client's worker-side listener.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([metrics.registry]);
}

export async function runIngressPrimary(config: Config, log: Logger): Promise<void> {
  let stopping = false;
  let failedStarts = 0;
  let killed = false;
  const restartTimers = new Set<NodeJS.Timeout>();
  const aggregator = new AggregatorRegistry<PrometheusContentType>();
  const metrics: Pick<Metrics, 'render' | 'registry'> = { registry: aggregator, render: () => aggregator.clusterMetrics() };
  const workers: Worker[] = [];
  const listeningWorkers = new WeakSet<Worker>();
  // Alive while at least one worker listens: what an orchestrator's probe on METRICS_PORT needs to know.
  const health: Route = (req, res, path) => {
    if (path !== '/api/v1/health/live' && path !== '/api/v1/health/ready') return false;
    const listening = workers.filter((worker) => listeningWorkers.has(worker)).length;
    sendJson(res, listening > 0 ? 200 : 503, { status: listening > 0 ? 'ok' : 'starting', workers: workers.length, listening });
    return true;
  };
  const listener: Server = startMetricsListener([health, metricsRoute({ metrics, token: config.metrics.token, production: config.production })], log);
  const metricsUrl = await listen(listener, config.metrics.port, config.host);

  const fork = (index: number): Worker => {
    const worker = cluster.fork({ HOOKGATE_INGRESS_WORKER: String(index) });
    worker.on('error', (error: Error) => log.error({ worker: index, err: error.message }, 'ingress worker channel error'));
    worker.once('listening', () => {
      listeningWorkers.add(worker);
      failedStarts = 0;
    });
    worker.on('exit', (code, signal) => {
      if (stopping) return;
      if (code === 2) {
        // A refusal at start (the port is taken, the data folder is busy): every worker would meet it.
        log.error({ worker: index, code }, 'an ingress worker refused to start; stopping');
        void stop('SIGTERM', 2);
        return;
      }
      if (!listeningWorkers.has(worker)) failedStarts += 1;
      if (failedStarts >= MAX_FAILED_STARTS) {
        log.error({ failedStarts }, 'ingress workers keep dying before they listen; stopping');
        void stop('SIGTERM', 1);
        return;
      }
      const delay = Math.min(RESTART_DELAY_MS.max, RESTART_DELAY_MS.first * 2 ** Math.max(0, failedStarts - 1));
      log.error({ worker: index, pid: worker.process.pid, code, signal, restartInMs: delay }, 'ingress worker exited; starting another');
      const timer = setTimeout(() => {
        restartTimers.delete(timer);
        if (!stopping) workers[index] = fork(index);
      }, delay);
      restartTimers.add(timer);
    });
    return worker;
  };
  for (let index = 0; index < config.ingress.workers; index++) workers.push(fork(index));
  log.info({ workers: workers.length, port: config.ingress.port, metrics: metricsUrl }, 'ingress workers started');

  async function stop(signal: NodeJS.Signals, exitCode = 0): Promise<void> {
    if (stopping) return;
    stopping = true;
    for (const timer of restartTimers) clearTimeout(timer);
    log.info({ signal }, 'stopping ingress workers');
    let failed = false;
    const exited = workers.map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.isDead()) return resolve();
          worker.once('exit', (code) => {
            if (code !== 0) failed = true;
            resolve();
          });
          worker.process.kill('SIGTERM');
        }),
    );
    const bound = setTimeout(() => {
      log.warn({}, 'ingress workers did not stop in time; killing them');
      killed = true;
      for (const worker of workers) if (!worker.isDead()) worker.process.kill('SIGKILL');
    }, STOP_BOUND_MS);
    await Promise.all(exited);
    clearTimeout(bound);
    await closeServer(listener);
    process.exit(exitCode !== 0 ? exitCode : killed || failed ? 1 : 0);
  }
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
