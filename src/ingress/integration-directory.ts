import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { integrations, type Integration } from '../db/schema.js';
import type { Logger } from '../log.js';
import type { Coordination } from '../ports/coordination.js';

const CHANGES_CHANNEL = 'integrations.changed';

/**
 * Every integration, held in memory in every process (they are few). A webhook for a provider
 * nobody configured is answered from this map: no database query, and nothing is remembered
 * about the name, so a flood of random names costs neither memory nor database work
 * (issue 12). A change made anywhere is announced on the coordination port and each instance
 * reloads that one integration at once (a new secret works everywhere immediately); a full
 * reload every `refreshMs` repairs a missed announcement.
 */
export interface IntegrationDirectory {
  find(provider: string): Promise<Integration | null>;
  /** Call after changing an integration: reloads it here and in every other instance. */
  changed(provider: string): Promise<void>;
  /** Loads every integration and starts listening for changes; returns the function that stops it. */
  listen(): Promise<() => Promise<void>>;
}

export function createIntegrationDirectory(
  db: Database,
  options: { coordination?: Coordination; log?: Logger; refreshMs?: number } = {},
): IntegrationDirectory {
  const refreshMs = options.refreshMs ?? 30_000;
  let known = new Map<string, Integration>();
  let loaded: Promise<void> | undefined;

  async function loadAll(): Promise<void> {
    const rows = await db.select().from(integrations);
    known = new Map(rows.map((row) => [row.provider, row]));
  }

  async function reload(provider: string): Promise<void> {
    const [row] = await db.select().from(integrations).where(eq(integrations.provider, provider)).limit(1);
    if (row) known.set(provider, row);
    else known.delete(provider);
  }

  const ensureLoaded = () => {
    loaded ??= loadAll().catch((error: unknown) => {
      loaded = undefined;
      throw error;
    });
    return loaded;
  };

  return {
    async find(provider) {
      if (!loaded) await ensureLoaded();
      else await loaded;
      return known.get(provider) ?? null;
    },
    async changed(provider) {
      await reload(provider);
      await options.coordination?.publish(CHANGES_CHANNEL, provider).catch((error: Error) => {
        options.log?.warn({ provider, err: error.message }, 'could not announce an integration change; other instances catch up at their next full reload');
      });
    },
    async listen() {
      const unsubscribe = options.coordination
        ? await options.coordination.subscribe(CHANGES_CHANNEL, (provider) => {
            // A provider name only arrives here from an instance that just changed it.
            reload(provider).catch((error: Error) => {
              options.log?.warn({ provider, err: error.message }, 'could not reload a changed integration; the next full reload will');
            });
          })
        : async () => {};
      await ensureLoaded();
      let failing = false;
      const timer = setInterval(() => {
        loadAll()
          .then(() => {
            if (failing) options.log?.info({}, 'integrations reloaded again');
            failing = false;
          })
          .catch((error: Error) => {
            // Keep serving the last copy; one line per change of state, not per attempt.
            if (!failing) options.log?.warn({ err: error.message }, 'could not reload integrations; serving the last copy');
            failing = true;
          });
      }, refreshMs);
      timer.unref();
      return async () => {
        clearInterval(timer);
        await unsubscribe();
      };
    },
  };
}

/** The secrets that may sign right now: the current one, and the previous one until it expires. */
export function activeSecrets(integration: Integration, now: Date): string[] {
  const secrets = [integration.secret];
  if (integration.previousSecret && integration.previousSecretExpiresAt && integration.previousSecretExpiresAt > now) {
    secrets.push(integration.previousSecret);
  }
  return secrets;
}
