import cluster, { type Worker } from 'node:cluster';
import type { Server } from 'node:http';
import { AggregatorRegistry } from 'prom-client';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { startMetricsListener } from './observability/metrics-listener.js';
import { metricsRoute } from './observability/routes.js';

/**
 * `INGRESS_WORKERS=N`: N ingress processes on one port (node:cluster hands each new connection to
 * the next worker). The ingress is bound by its one event loop, so this helps on a machine with
 * cores to spare beyond what Kafka, Redis and the other roles use; on a 2-core machine shared with
 * them it mostly adds contention (BENCHMARKS.md).
 *
 * The primary runs no role. It forks the workers, starts a replacement when one dies, serves the
 * workers' metrics summed at METRICS_PORT (prom-client's cluster aggregation), and on SIGTERM or
 * SIGINT stops every worker (each drains as a single ingress does) before it exits.
 */

const RESTART_DELAY_MS = 1_000;
const STOP_BOUND_MS = 30_000;

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
  const aggregator = new AggregatorRegistry();
  const metrics = { registry: aggregator, render: () => aggregator.clusterMetrics() } as unknown as Pick<Metrics, 'render' | 'registry'>;
  const listener: Server = startMetricsListener([metricsRoute({ metrics, token: config.metrics.token, production: config.production })], log);
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(config.metrics.port, config.host, () => resolve());
  });

  const fork = (index: number): Worker => {
    const worker = cluster.fork({ HOOKGATE_INGRESS_WORKER: String(index) });
    worker.on('exit', (code, signal) => {
      if (stopping) return;
      if (code === 2) {
        // A refusal at start (the port is taken, the data folder is busy): every worker would meet it.
        log.error({ worker: index, code }, 'an ingress worker refused to start; stopping');
        void stop('SIGTERM', 2);
        return;
      }
      log.error({ worker: index, pid: worker.process.pid, code, signal }, 'ingress worker exited; starting another');
      setTimeout(() => {
        if (!stopping) workers[index] = fork(index);
      }, RESTART_DELAY_MS);
    });
    return worker;
  };
  const workers = Array.from({ length: config.ingress.workers }, (_, index) => fork(index));
  log.info({ workers: workers.length, port: config.ingress.port, metricsPort: config.metrics.port }, 'ingress workers started');

  async function stop(signal: NodeJS.Signals, exitCode = 0): Promise<void> {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping ingress workers');
    const exited = workers.map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.isDead()) return resolve();
          worker.once('exit', () => resolve());
          worker.process.kill('SIGTERM');
        }),
    );
    const bound = setTimeout(() => {
      log.warn({}, 'ingress workers did not stop in time; killing them');
      for (const worker of workers) if (!worker.isDead()) worker.process.kill('SIGKILL');
    }, STOP_BOUND_MS);
    await Promise.all(exited);
    clearTimeout(bound);
    listener.close();
    process.exit(exitCode);
  }
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
