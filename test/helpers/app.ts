import { randomBytes } from 'node:crypto';
import { startApp, type RunningApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { services } from './services.js';

export const TEST_API_KEY = 'test-management-key-0123456789';

export interface TestApp {
  config: Config;
  database: TestDatabase;
  ingressUrl: string;
  managementUrl: string;
  graphql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<{ data?: T; errors?: { message: string; extensions?: Record<string, unknown> }[] }>;
  stop(): Promise<void>;
}

/** Starts every role in-process on the real services, isolated by its own database, topics, group and key prefix. */
export async function startTestApp(env: Record<string, string> = {}, options: { logWrite?: (line: string) => void } = {}): Promise<TestApp> {
  const run = randomBytes(4).toString('hex');
  const database = await createTestDatabase(services.testDatabaseUrl!);
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    INGRESS_PORT: '0',
    MANAGEMENT_PORT: '0',
    METRICS_PORT: '0',
    DATABASE_URL: database.url,
    REDIS_URL: services.redisUrl!,
    REDIS_KEY_PREFIX: `hookgate-test:${run}:`,
    KAFKA_BROKERS: services.kafkaBrokers!,
    KAFKA_TOPIC: `hookgate.test.${run}.ingress`,
    KAFKA_DLQ_TOPIC: `hookgate.test.${run}.dlq`,
    KAFKA_CONSUMER_GROUP: `hookgate-test-${run}`,
    KAFKA_TOPIC_PARTITIONS: '3',
    MANAGEMENT_API_KEY: TEST_API_KEY,
    ...env,
  });
  let app: RunningApp;
  try {
    app = await startApp(config, createLogger({ level: config.logLevel, ...(options.logWrite ? { write: options.logWrite } : {}) }));
  } catch (error) {
    await database.drop();
    throw error;
  }
  return {
    config,
    database,
    ingressUrl: app.ingressUrl!,
    managementUrl: app.managementUrl!,
    async graphql(query, variables) {
      const response = await fetch(`${app.managementUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-internal-api-key': TEST_API_KEY },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as never;
    },
    async stop() {
      await app.stop();
      await database.drop();
    },
  };
}

export { eventually } from './eventually.js';
