import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually } from '../helpers/app.js';
import { createHmacIntegration, startAppOn, type InProcessApp } from '../helpers/app-on.js';
import { hookgateEnv } from '../helpers/child-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { signers } from '../helpers/providers.js';
import { describeWithServices, services } from '../helpers/services.js';
import { postWebhook } from '../helpers/signing.js';

/**
 * A provider that retries on a slow answer sends the same webhook twice within milliseconds, so
 * both copies usually reach the persist consumer in one Kafka batch. The consumer's Redis lock
 * for that event is then its own: it must not wait for "another consumer" to finish it.
 */
describeWithServices('a persist batch holding the same webhook twice', ['kafka', 'postgres', 'redis'], () => {
  let database: TestDatabase;
  let sql: postgres.Sql;
  let ingress: InProcessApp;
  let persist: InProcessApp | undefined;
  let env: Record<string, string>;
  const secret = `acme-secret-${crypto.randomUUID()}`;

  beforeAll(async () => {
    database = await createTestDatabase(services.testDatabaseUrl!);
    sql = postgres(database.url, { max: 2 });
    env = hookgateEnv(database.url, { KAFKA_TOPIC_PARTITIONS: '1' });
    ingress = await startAppOn({ ...env, HOOKGATE_ROLE: 'ingress,graph' });
    await createHmacIntegration(ingress, { provider: 'acme', secret });
  });

  afterAll(async () => {
    await persist?.stop();
    await ingress?.stop();
    await sql?.end();
    await database?.drop();
  });

  it('is stored as promptly as a batch without duplicates (no wait on its own lock)', async () => {
    // Both copies are in the log before the consumer starts, so its first batch holds both.
    for (const id of ['retried', 'retried', 'single']) {
      const body = JSON.stringify({ id });
      expect((await postWebhook(ingress.ingressUrl!, 'acme', body, await signers.HMAC_SHA256!(body, secret))).status).toBe(202);
    }
    persist = await startAppOn({ ...env, HOOKGATE_ROLE: 'persist' });
    const started = Date.now();
    await eventually(async () => {
      const [row] = await sql<{ count: number }[]>`select count(*)::int as count from events`;
      return row!.count === 2 ? true : undefined;
    }, 15_000);
    // Without duplicates this takes well under a second; a wait on its own lock would take 5 s.
    expect(Date.now() - started).toBeLessThan(4500);
  });
});
