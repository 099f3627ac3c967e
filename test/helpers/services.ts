import { describe, it } from 'vitest';

/**
 * Which real services the integration suites may use. Tests read the environment directly:
 * they are not the application, and they must never point at a non-test database.
 */
export const services = {
  kafkaBrokers: process.env.KAFKA_BROKERS || undefined,
  testDatabaseUrl: process.env.TEST_DATABASE_URL || undefined,
  redisUrl: process.env.REDIS_URL || undefined,
};

export type ServiceName = 'kafka' | 'postgres' | 'redis';

const VARIABLE: Record<ServiceName, keyof typeof services> = {
  kafka: 'kafkaBrokers',
  postgres: 'testDatabaseUrl',
  redis: 'redisUrl',
};
const ENV_NAME: Record<ServiceName, string> = { kafka: 'KAFKA_BROKERS', postgres: 'TEST_DATABASE_URL', redis: 'REDIS_URL' };

export function missingServices(needs: ServiceName[]): string[] {
  return needs.filter((name) => !services[VARIABLE[name]]).map((name) => ENV_NAME[name]);
}

/**
 * A suite that runs on real services. Without them it is skipped with a visible reason —
 * except under CI, where a missing service fails the run instead of passing silently.
 */
export function describeWithServices(name: string, needs: ServiceName[], body: () => void): void {
  const missing = missingServices(needs);
  if (missing.length === 0) {
    describe(name, body);
    return;
  }
  const reason = `needs ${missing.join(', ')} (run \`eval "$(npm run -s services:up)"\` first)`;
  if (process.env.CI) {
    describe(name, () => {
      it(`has its services: ${reason}`, () => {
        throw new Error(`CI is set but ${reason}`);
      });
    });
    return;
  }
  console.warn(`[skipped] ${name}: ${reason}`);
  describe.skip(`${name} [skipped: ${reason}]`, body);
}
