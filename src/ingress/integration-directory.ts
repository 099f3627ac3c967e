import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { integrations, type Integration } from '../db/schema.js';
import type { Logger } from '../log.js';
import type { Coordination } from '../ports/coordination.js';

const CHANGES_CHANNEL = 'integrations.changed';

/**
 * Integration lookup for the ingress hot path: one query per provider per `ttlMs`, not per
 * request. A change made anywhere is announced on the coordination port, so every instance
 * drops its copy at once (a new secret works everywhere immediately); the TTL is the fallback.
 */
export interface IntegrationDirectory {
  find(provider: string): Promise<Integration | null>;
  /** Call after changing an integration: forgets it here and in every other instance. */
  changed(provider: string): Promise<void>;
  /** Starts listening for changes announced by other instances. */
  listen(): Promise<() => Promise<void>>;
}

export function createIntegrationDirectory(
  db: Database,
  options: { coordination?: Coordination; log?: Logger; ttlMs?: number } = {},
): IntegrationDirectory {
  const ttlMs = options.ttlMs ?? 5000;
  const cache = new Map<string, { value: Promise<Integration | null>; expiresAt: number }>();
  return {
    find(provider) {
      const now = Date.now();
      const hit = cache.get(provider);
      if (hit && hit.expiresAt > now) return hit.value;
      // Concurrent requests for the same provider share one query.
      const value = db
        .select()
        .from(integrations)
        .where(eq(integrations.provider, provider))
        .limit(1)
        .then((rows) => rows[0] ?? null);
      cache.set(provider, { value, expiresAt: now + ttlMs });
      value.catch(() => cache.delete(provider));
      return value;
    },
    async changed(provider) {
      cache.delete(provider);
      await options.coordination?.publish(CHANGES_CHANNEL, provider).catch((error: Error) => {
        options.log?.warn({ provider, err: error.message }, 'could not announce an integration change; other instances catch up within the cache TTL');
      });
    },
    async listen() {
      if (!options.coordination) return async () => {};
      return options.coordination.subscribe(CHANGES_CHANNEL, (provider) => cache.delete(provider));
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
