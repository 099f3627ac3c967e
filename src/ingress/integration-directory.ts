import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { integrations, type Integration } from '../db/schema.js';

/**
 * Integration lookup for the ingress hot path: one query per provider per `ttlMs`, not per request.
 * Writers call `invalidate` so a change made through this process applies at once.
 */
export interface IntegrationDirectory {
  find(provider: string): Promise<Integration | null>;
  invalidate(provider?: string): void;
}

export function createIntegrationDirectory(db: Database, options: { ttlMs?: number } = {}): IntegrationDirectory {
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
    invalidate(provider) {
      if (provider === undefined) cache.clear();
      else cache.delete(provider);
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
