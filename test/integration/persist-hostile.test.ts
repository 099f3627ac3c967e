import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { TEST_API_KEY } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { runHostileCorpus } from '../helpers/hostile-corpus.js';
import { startReceiver } from '../helpers/receiver.js';
import { describeWithServices, services } from '../helpers/services.js';

const DESTINATION_SECRET = `whsec_${Buffer.from('hookgate-hostile-corpus-secret-0123456789').toString('base64')}`;

interface Started {
  app: RunningApp;
  lines: string[];
  graphql<T>(query: string, variables?: Record<string, unknown>): Promise<{ data?: T }>;
}

/** Every role in this process, logging at debug into `lines`, so the test can read every line written. */
async function startCapturing(env: Record<string, string>): Promise<Started> {
  const lines: string[] = [];
  const config = loadConfig({ NODE_ENV: 'test', INGRESS_PORT: '0', MANAGEMENT_PORT: '0', METRICS_PORT: '0', MANAGEMENT_API_KEY: TEST_API_KEY, DELIVERY_ALLOWED_HOSTS: '127.0.0.1', ...env });
  const app = await startApp(config, createLogger({ level: 'debug', write: (line) => void lines.push(line) }));
  return {
    app,
    lines,
    async graphql<T>(query: string, variables?: Record<string, unknown>) {
      const response = await fetch(`${app.managementUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-internal-api-key': TEST_API_KEY },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as { data?: T };
    },
  };
}

async function createAcme(started: Started, secret: string, receiverUrl: string): Promise<void> {
  const created = await started.graphql<{ createIntegration: { __typename: string } }>(
    `mutation ($input: CreateIntegrationInput!) { createIntegration(input: $input) { __typename } }`,
    {
      input: {
        provider: 'acme',
        name: 'Acme',
        // One ordering key for the whole corpus: every webhook has the same Kafka key and partition.
        verification: { scheme: 'HMAC_SHA256', secret, eventKeyPath: '$.id', orderingKeyPath: '$.order' },
        destinations: [{ url: `${receiverUrl}/hooks`, secret: DESTINATION_SECRET }],
        rateLimitPerMinute: 1_000_000,
      },
    },
  );
  expect(created.data?.createIntegration.__typename).toBe('Integration');
}

const healthy = (url: string) => async () => (await fetch(`${url}/api/v1/health`)).status === 200;

describeWithServices('hostile corpus on Kafka, Postgres and Redis', ['kafka', 'postgres', 'redis'], () => {
  let started: Started;
  let database: TestDatabase;
  let sql: postgres.Sql;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const secret = `acme-secret-${randomBytes(8).toString('hex')}`;

  beforeAll(async () => {
    const run = randomBytes(4).toString('hex');
    receiver = await startReceiver();
    database = await createTestDatabase(services.testDatabaseUrl!);
    started = await startCapturing({
      DATABASE_URL: database.url,
      REDIS_URL: services.redisUrl!,
      REDIS_KEY_PREFIX: `hookgate-test:${run}:`,
      KAFKA_BROKERS: services.kafkaBrokers!,
      KAFKA_TOPIC: `hookgate.test.${run}.ingress`,
      KAFKA_DLQ_TOPIC: `hookgate.test.${run}.dlq`,
      KAFKA_CONSUMER_GROUP: `hookgate-test-${run}`,
      KAFKA_TOPIC_PARTITIONS: '3',
    });
    sql = postgres(database.url, { max: 2 });
    await createAcme(started, secret, receiver.url);
  }, 60_000);

  afterAll(async () => {
    await sql?.end();
    await started?.app.stop();
    await database?.drop();
    await receiver?.stop();
  });

  it('stores and delivers every acceptable body byte for byte, refuses the rest at the ingress, and never stops the partition', async () => {
    await runHostileCorpus(
      {
        ingressUrl: started.app.ingressUrl!,
        storedBody: async (eventId) => {
          const [row] = await sql<{ raw_body: Buffer }[]>`select raw_body from events where id = ${eventId}`;
          return row?.raw_body ?? null;
        },
        healthy: healthy(started.app.ingressUrl!),
        receiver,
        logLines: () => started.lines,
      },
      secret,
    );
    // jsonb could not hold these: stored without payload, and GraphQL answers from the raw body.
    const [nul] = await sql<{ id: string; payload: unknown }[]>`select id, payload from events where event_key = 'nul-in-value'`;
    expect(nul!.payload).toBeNull();
    const answer = await started.graphql<{ event: { payload: { note: string } } }>(`query ($id: ID!) { event(id: $id) { payload } }`, { id: nul!.id });
    expect(answer.data?.event.payload.note).toBe('a\u0000b');
    const [huge] = await sql<{ payload: unknown }[]>`select payload from events where event_key = 'huge-numbers'`;
    expect(huge!.payload).toBeNull();
  }, 180_000);
});

describe('hostile corpus on the embedded backends (PGlite, in-process log, in-memory coordination)', () => {
  let started: Started;
  let dataDir: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const secret = `acme-secret-${randomBytes(8).toString('hex')}`;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'hookgate-hostile-'));
    receiver = await startReceiver();
    started = await startCapturing({ HOOKGATE_DATA_DIR: dataDir });
    await createAcme(started, secret, receiver.url);
  }, 120_000);

  afterAll(async () => {
    await started?.app.stop();
    await receiver?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('stores and delivers every acceptable body byte for byte, refuses the rest at the ingress, and stays healthy', async () => {
    const rawBody = async (eventId: string) => {
      const answer = await started.graphql<{ event: { id: string } | null }>(`query ($id: ID!) { event(id: $id) { id } }`, { id: eventId });
      return answer.data?.event ?? null;
    };
    await runHostileCorpus(
      {
        ingressUrl: started.app.ingressUrl!,
        // rawBodyBase64: the exact bytes, also of a body that is not valid UTF-8.
        storedBody: async (eventId) => {
          if (!(await rawBody(eventId))) return null;
          const answer = await started.graphql<{ event: { rawBodyBase64: string } }>(`query ($id: ID!) { event(id: $id) { rawBodyBase64 } }`, { id: eventId });
          return Buffer.from(answer.data!.event.rawBodyBase64, 'base64');
        },
        healthy: healthy(started.app.ingressUrl!),
        receiver,
        logLines: () => started.lines,
      },
      secret,
    );
  }, 180_000);
});
