import type { Database } from '../db/client.js';
import type { Logger } from '../log.js';
import { runReplayChunk } from './replay.js';
import type { StatusPublisher } from './status-events.js';

/** Works through bulk replays in the background, a chunk at a time; any number may run. */
export function createReplayRunner(deps: { db: Database; status: Pick<StatusPublisher, 'wakeDeliveryWorkers'>; log: Logger; idleDelayMs?: number }) {
  let stopping = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  async function run(): Promise<void> {
    while (!stopping) {
      let progressed = false;
      try {
        const result = await runReplayChunk(deps.db);
        if (result) {
          progressed = true;
          if (result.created > 0) await deps.status.wakeDeliveryWorkers();
        }
      } catch (error) {
        deps.log.error({ err: (error as Error).message }, 'replay chunk failed; will retry');
      }
      if (!progressed) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, deps.idleDelayMs ?? 1000);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }

  return {
    start: async () => {
      loop = run();
    },
    /** Picks up a new request now rather than at the next idle check. */
    nudge: () => wake?.(),
    async stop() {
      stopping = true;
      wake?.();
      await loop;
    },
  };
}
