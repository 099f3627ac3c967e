import { startApp } from './app.js';
import { isIngressWorker, runIngressPrimary, serveMetricsToPrimary } from './ingress-workers.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { DataDirBusyError } from './db/data-dir-lock.js';
import { createLogger } from './log.js';

/** Start-up failures that are the situation, not a bug: said in one sentence, without a stack. */
function startRefusal(error: unknown, config: Config): string | undefined {
  if (error instanceof DataDirBusyError) return error.message;
  const failure = error as NodeJS.ErrnoException & { port?: number; address?: string };
  if (failure.code === 'EADDRINUSE' || failure.code === 'EACCES') {
    const variable = failure.port === config.management.port ? 'MANAGEMENT_PORT' : 'INGRESS_PORT';
    const why = failure.code === 'EADDRINUSE' ? 'is already in use (another Hookgate running?)' : 'may not be used by this user';
    return `port ${failure.port} on ${failure.address ?? config.host} ${why}: stop what holds it, or choose another with ${variable}`;
  }
  return undefined;
}

/** Starts the server from an environment and stops it in order on SIGTERM/SIGINT. Exits on bad configuration. */
export async function runServer(env: Record<string, string | undefined>): Promise<void> {
  let config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`hookgate: ${error.message}\n`);
    process.exit(1);
  }

  const log = createLogger({ level: config.logLevel });
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason }, 'unhandled promise rejection');
  });

  try {
    if (config.ingress.workers > 1 && !isIngressWorker()) {
      await runIngressPrimary(config, log);
      return;
    }
    const app = await startApp(config, log, isIngressWorker() ? { metricsFromPrimary: serveMetricsToPrimary } : {});
    let signalled = false;
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.on(signal, () => {
        if (signalled) return;
        signalled = true;
        log.info({ signal }, 'shutting down');
        app
          .stop()
          .then(() => process.exit(0))
          .catch(() => process.exit(1));
      });
    }
  } catch (error) {
    const refusal = startRefusal(error, config);
    if (refusal) {
      // Not a crash: one sentence on stderr, exit code 2 (the CLI's "fix the way you started it").
      process.stderr.write(`hookgate: ${refusal}\n`);
      process.exit(2);
    }
    log.error({ err: error }, 'start-up failed');
    process.exit(1);
  }
}
