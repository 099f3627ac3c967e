import { startApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './log.js';

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
    const app = await startApp(config, log);
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
    log.error({ err: error }, 'start-up failed');
    process.exit(1);
  }
}
