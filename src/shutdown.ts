import type { Logger } from './log.js';

/**
 * One ordered shutdown for the whole process (STYLE.md §11): components register in start
 * order and are stopped in reverse — stop accepting, drain, commit, disconnect.
 */
export function createShutdown(log: Logger, options: { timeoutMs?: number } = {}) {
  const steps: { name: string; stop: () => Promise<void> }[] = [];
  let running: Promise<void> | undefined;

  async function runAll(): Promise<void> {
    for (const step of [...steps].reverse()) {
      const started = Date.now();
      try {
        await step.stop();
        log.info({ component: step.name, ms: Date.now() - started }, 'stopped');
      } catch (error) {
        log.error({ component: step.name, err: error }, 'failed to stop cleanly');
      }
    }
  }

  return {
    register(name: string, stop: () => Promise<void>): void {
      steps.push({ name, stop });
    },
    /** Idempotent: a second signal waits for the first shutdown. */
    run(): Promise<void> {
      running ??= Promise.race([
        runAll(),
        new Promise<void>((resolve) => {
          setTimeout(() => {
            log.error({ timeoutMs: options.timeoutMs ?? 30_000 }, 'shutdown timed out');
            resolve();
          }, options.timeoutMs ?? 30_000).unref();
        }),
      ]);
      return running;
    },
  };
}

export type Shutdown = ReturnType<typeof createShutdown>;
