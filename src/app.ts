import { openBackends } from './backends.js';
import type { Config } from './config.js';
import { DEMO_PROVIDER, devManagementKey, ensureDemoIntegration, welcomeBanner } from './first-run.js';
import { createDeliverySink } from './graph/delivery-sink.js';
import { createDeliveryWorker } from './consumers/delivery-worker.js';
import { createOperatorNotifier } from './consumers/operator-notifier.js';
import { sendPinned } from './consumers/http-sender.js';
import { createPersistConsumer } from './consumers/persist-consumer.js';
import { createReplayRunner } from './consumers/replay-runner.js';
import { createRetentionJob } from './consumers/retention.js';
import { createSsrfGuard } from './consumers/ssrf-guard.js';
import { createStatusPublisher } from './consumers/status-events.js';
import { createManagementServer } from './graph/server.js';
import { closeServer, listen } from './http.js';
import { createLeasedRateLimiter } from './ingress/leased-rate-limiter.js';
import { createWebhookHandler } from './ingress/handle-webhook.js';
import { createHandshakeRecorder } from './ingress/handshake-audit.js';
import { createIntegrationDirectory } from './ingress/integration-directory.js';
import { createIngressServer } from './ingress/server.js';
import type { Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { registerPipelineGauges } from './observability/pipeline-gauges.js';
import { createReadiness, stateCheck } from './observability/readiness.js';
import { healthRoutes, metricsRoute } from './observability/routes.js';
import { startMetricsListener } from './observability/metrics-listener.js';
import { CONSOLE_DIR } from './console-dir.js';
import { createLiveFeed } from './graph/live-feed.js';
import { createShutdown } from './shutdown.js';
import { loadKeyring } from './secrets/encryption-keys.js';
import { resealPlainSecrets } from './secrets/reseal.js';
import { installKeyring } from './secrets/secret-box.js';

export interface RunningApp {
  ingressUrl?: string;
  managementUrl?: string;
  /** The metrics-and-health listener of a process without the graph role. */
  metricsUrl?: string;
  /** The consumers this process runs, for drills and tests (readiness reports them). */
  parts: { persist?: { start(): Promise<void>; stop(): Promise<void> } };
  stop(): Promise<void>;
}


/** Assembles the roles chosen in `config.roles` (DESIGN.md §5). Plain wiring, no logic. */
export interface StartOptions {
  /** One of INGRESS_WORKERS' processes: its metrics are served by the primary (ingress-workers.ts), not by a listener of its own. */
  metricsFromPrimary?: (metrics: Metrics) => void;
}

export async function startApp(config: Config, log: Logger, options: StartOptions = {}): Promise<RunningApp> {
  const shutdown = createShutdown(log);
  const roles = new Set(config.roles);
  const running: RunningApp = { parts: {}, stop: () => shutdown.run() };

  try {
    // Secrets are sealed and opened by the schema's secret columns: the keys come first.
    const keyring = await loadKeyring({ keys: config.encryptionKeys, dataDir: config.dataDir });
    installKeyring(keyring);
    const { database, coordination, eventLog } = await openBackends(config, log);
    // Rows stored in the clear before encryption existed are sealed now (idempotent).
    const sealed = await resealPlainSecrets(database.db, keyring);
    if (sealed > 0) log.info({ sealed }, 'encrypted secrets stored in the clear');
    shutdown.register(database.backend, database.close);
    shutdown.register(coordination.backend === 'redis' ? 'redis' : 'memory-coordination', coordination.close);
    shutdown.register('event-log', eventLog.close);
    const integrations = createIntegrationDirectory(database.db, { coordination, log });
    shutdown.register('integration-changes', await integrations.listen());
    const metrics = createMetrics();
    // What readiness asks beyond the backends: this role's consumer runs, its delivery loop is alive.
    const roleChecks: Record<string, () => Promise<unknown>> = {};
    const status = createStatusPublisher(coordination, log);
    // Development only: the built-in delivery sink listens on loopback, so loopback is allowed there.
    const development = config.env === 'development';
    const allowedHosts = development ? [...config.delivery.allowedHosts, '127.0.0.1'] : config.delivery.allowedHosts;
    const destinationGuard = createSsrfGuard({ allowedHosts, requireHttps: config.production });

    const producer = roles.has('ingress') ? eventLog.producer() : undefined;
    const healthChecks: Record<string, () => Promise<unknown>> = {
      [database.backend]: database.ping,
      [coordination.backend === 'redis' ? 'redis' : 'coordination'] : coordination.ping,
      ...(producer ? { [eventLog.backend === 'kafka' ? 'kafka' : 'eventLog']: producer.healthy } : {}),
    };

    if (roles.has('persist')) {
      const persist = createPersistConsumer({
        consumer: eventLog.consumer(),
        db: database.db,
        coordination,
        status,
        log: log.child({ component: 'persist' }),
        metrics,
      });
      await persist.start();
      shutdown.register('persist-consumer', persist.stop);
      roleChecks.persistConsumer = stateCheck(persist.running);
      running.parts.persist = persist;
    }

    if (roles.has('delivery')) {
      const notifier = config.operatorWebhook?.secret
        ? createOperatorNotifier({ url: config.operatorWebhook.url, secret: config.operatorWebhook.secret, log: log.child({ component: 'operator-notifications' }) })
        : undefined;
      const worker = createDeliveryWorker({
        db: database.db,
        coordination,
        status,
        log: log.child({ component: 'delivery' }),
        guard: destinationGuard,
        send: sendPinned,
        settings: config.delivery,
        metrics,
        ...(notifier ? { onHealthChange: notifier.healthChanged, onDead: notifier.deliveriesDead } : {}),
      });
      await worker.start();
      shutdown.register('delivery-worker', async () => {
        await worker.stop();
        await notifier?.drain();
      });
      roleChecks.deliveryLoop = stateCheck(worker.alive);
      const retention = createRetentionJob({ db: database.db, log: log.child({ component: 'retention' }), settings: config.retention });
      await retention.start();
      shutdown.register('retention', retention.stop);
      const replays = createReplayRunner({ db: database.db, status, log: log.child({ component: 'replay' }) });
      await replays.start();
      shutdown.register('replay-runner', replays.stop);
    }

    registerPipelineGauges(metrics, {
      ...(roles.has('delivery') || roles.has('graph') ? { db: database.db } : {}),
      ...(roles.has('persist') || roles.has('graph') ? { lag: eventLog.lag } : {}),
    });
    const readiness = createReadiness({ ...healthChecks, ...roleChecks });
    const health = healthRoutes(readiness, config.env);
    const metricsEndpoint = metricsRoute({ metrics, token: config.metrics.token, production: config.production });

    if (producer) {
      await producer.start();
      shutdown.register('kafka-producer', producer.stop);
      const rateLimiter = createLeasedRateLimiter({ coordination });
      shutdown.register('rate-limit-leases', rateLimiter.close);
      const server = createIngressServer({
        handleWebhook: createWebhookHandler({
          integrations,
          producer,
          rateLimiter,
          metrics,
          log: log.child({ component: 'ingress' }),
          maxBodyBytes: config.ingress.maxBodyBytes,
          defaultRateLimitPerMinute: config.ingress.rateLimitPerMinute,
          recordHandshake: createHandshakeRecorder(database.db),
        }),
        healthChecks,
        metrics,
        routes: [health],
        log: log.child({ component: 'ingress' }),
        trustedProxies: config.ingress.trustedProxies,
        bodyTimeoutMs: config.ingress.bodyTimeoutMs,
        headersTimeoutMs: config.ingress.headersTimeoutMs,
        mode: config.env,
      });
      running.ingressUrl = await listen(server, config.ingress.port, config.host);
      shutdown.register('ingress-listener', () => closeServer(server));
    }

    let devKey: Awaited<ReturnType<typeof devManagementKey>> | undefined;
    if (roles.has('graph')) {
      if (config.management.apiKeys.length === 0) devKey = await devManagementKey(config.dataDir);
      const apiKeys = devKey ? [devKey.key] : config.management.apiKeys;
      const live = createLiveFeed({ coordination, db: database.db, log });
      await live.start();
      shutdown.register('live-feed', live.stop);
      const management = createManagementServer({
        db: database.db,
        log: log.child({ component: 'graph' }),
        apiKeys,
        readKeys: config.management.readKeys,
        metrics,
        routes: [health, metricsEndpoint],
        consoleDir: CONSOLE_DIR,
        ...(config.production ? {} : { sink: createDeliverySink(database.db) }),
        integrations,
        destinationGuard,
        status,
        live,
        consumerLag: eventLog.lag,
        settings: {
          retryCooldownMs: config.delivery.retryCooldownMs,
          replayMaxEvents: config.management.replayMaxEvents,
          probeBaseMs: config.delivery.probe.baseMs,
        },
        production: config.production,
        healthChecks,
        headersTimeoutMs: config.ingress.headersTimeoutMs,
        bodyTimeoutMs: config.ingress.bodyTimeoutMs,
        mode: config.env,
      });
      running.managementUrl = await listen(management.server, config.management.port, config.host);
      shutdown.register('management-listener', async () => {
        await management.close();
        await closeServer(management.server);
      });
    }
    if (options.metricsFromPrimary) options.metricsFromPrimary(metrics);
    else if (!roles.has('graph')) {
      // No management listener here: /metrics and health get a small listener of their own.
      const listener = startMetricsListener([health, metricsEndpoint], log);
      running.metricsUrl = await listen(listener, config.metrics.port, config.host);
      shutdown.register('metrics-listener', () => closeServer(listener));
    }
    if (development && running.ingressUrl && running.managementUrl) {
      const demo = await ensureDemoIntegration(database.db, {
        dataDir: config.dataDir,
        sinkUrl: `${running.managementUrl}/api/v1/internal/delivery-sink/${DEMO_PROVIDER}`,
      });
      await integrations.changed(DEMO_PROVIDER);
      process.stdout.write(`${welcomeBanner({ ingressUrl: running.ingressUrl, managementUrl: running.managementUrl, key: devKey, demo })}\n`);
    }
  } catch (error) {
    await shutdown.run();
    throw error;
  }
  log.info(
    { mode: config.env, roles: [...roles], ingress: running.ingressUrl, management: running.managementUrl, metrics: running.metricsUrl },
    'hookgate started',
  );
  if (!config.production) {
    // Development is the default: say what that opens, every start (README: deployment).
    log.warn(
      { mode: config.env },
      'not in production mode: introspection, GraphiQL, the delivery sink and (in development) loopback destinations are on; set NODE_ENV=production to close them',
    );
  }
  return running;
}
