import { BenchError } from './errors.js';
import type { ServerProcess } from './server-process.js';

/**
 * Waits for a baseline child to finish by itself, at most `timeoutMs`; fails on a non-zero exit,
 * on the timeout (the child is then stopped by the caller's clean-up), or when `signal` aborts.
 */
export async function exitWithin(child: ServerProcess, timeoutMs: number, signal: AbortSignal): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    const exit = await Promise.race([
      child.exited,
      new Promise<undefined>((resolve, reject) => {
        timer = setTimeout(() => resolve(undefined), timeoutMs);
        onAbort = () => reject(signal.reason as Error);
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
    if (!exit) throw new BenchError(`${child.name} did not finish within ${timeoutMs / 1000} s; see ${child.logFile}`);
    if (exit.code !== 0) throw new BenchError(`${child.name} failed (code ${exit.code}, signal ${exit.signal}); see ${child.logFile}`);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
