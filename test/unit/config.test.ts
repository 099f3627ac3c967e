import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const valid = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/hookgate',
  REDIS_URL: 'redis://127.0.0.1:6379',
  KAFKA_BROKERS: '127.0.0.1:9092,127.0.0.1:9093',
  MANAGEMENT_API_KEY: 'a-management-key-of-some-length',
};

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig(valid);
    expect(config.ingress.port).toBe(8080);
    expect(config.management.port).toBe(8081);
    expect(config.roles).toEqual(['ingress', 'persist', 'delivery', 'graph']);
    expect(config.kafka.topic).toBe('hookgate.ingress.v1');
    expect(config.kafka.dlqTopic).toBe('hookgate.ingress.dlq.v1');
    expect(config.kafka.consumerGroup).toBe('hookgate-persist');
    expect(config.kafka.brokers).toEqual(['127.0.0.1:9092', '127.0.0.1:9093']);
    expect(config.production).toBe(false);
  });

  it('reports every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({
        NODE_ENV: 'production',
        INGRESS_PORT: 'eighty',
        MANAGEMENT_API_KEY: 'short',
        KAFKA_BROKERS: 'nohostport',
        HOOKGATE_ROLE: 'ingress,cook',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('DATABASE_URL: required in production');
    expect(problems).toContain('REDIS_URL: required in production');
    expect(problems).toContain('INGRESS_PORT');
    expect(problems).toContain('MANAGEMENT_API_KEY');
    expect(problems).toContain('KAFKA_BROKERS');
    expect(problems).toContain('HOOKGATE_ROLE');
  });

  it('runs on embedded backends when no service is configured, outside production', () => {
    const config = loadConfig({});
    expect(config.database.url).toBeUndefined();
    expect(config.redis.url).toBeUndefined();
    expect(config.kafka.brokers).toEqual([]);
    expect(config.management.apiKeys).toEqual([]);
    expect(config.dataDir).toBe('.hookgate');
  });

  it('refuses embedded backends in production unless explicitly allowed', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', MANAGEMENT_API_KEY: 'a-management-key-of-some-length' })).toThrow(
      /DATABASE_URL: required in production/,
    );
    const allowed = loadConfig({
      NODE_ENV: 'production',
      MANAGEMENT_API_KEY: 'a-production-management-key-0123456789',
      HOOKGATE_ALLOW_EMBEDDED_IN_PRODUCTION: 'true',
    });
    expect(allowed.production).toBe(true);
  });

  it('runs several ingress workers only for the ingress role alone, on the real services', () => {
    expect(loadConfig({ ...valid, HOOKGATE_ROLE: 'ingress', INGRESS_WORKERS: '4' }).ingress.workers).toBe(4);
    expect(loadConfig(valid).ingress.workers).toBe(1);
    expect(() => loadConfig({ ...valid, INGRESS_WORKERS: '2' })).toThrow(/INGRESS_WORKERS: several ingress workers need HOOKGATE_ROLE=ingress/);
    expect(() => loadConfig({ HOOKGATE_ROLE: 'ingress', KAFKA_BROKERS: valid.KAFKA_BROKERS, INGRESS_WORKERS: '2' })).toThrow(
      /INGRESS_WORKERS: several ingress workers share the real services; set DATABASE_URL, REDIS_URL/,
    );
    expect(() => loadConfig({ ...valid, HOOKGATE_ROLE: 'ingress', INGRESS_WORKERS: '0' })).toThrow(/INGRESS_WORKERS/);
  });

  it('refuses to start in production with a management key shorter than 32 characters', () => {
    const production = { NODE_ENV: 'production', HOOKGATE_ALLOW_EMBEDDED_IN_PRODUCTION: 'true' };
    expect(() => loadConfig({ ...production, MANAGEMENT_API_KEY: 'a-production-management-key-0123456789,only-twenty-chars-xx' })).toThrow(
      /MANAGEMENT_API_KEY: every key must have at least 32 characters in production/,
    );
    // Outside production the 16-character minimum stands.
    expect(loadConfig({ MANAGEMENT_API_KEY: 'only-twenty-chars-xx' }).management.apiKeys).toEqual(['only-twenty-chars-xx']);
  });

  it('refuses to split ingress and persist across processes without Kafka', () => {
    expect(() => loadConfig({ HOOKGATE_ROLE: 'ingress,graph' })).toThrow(/embedded event log/);
    expect(loadConfig({ ...valid, HOOKGATE_ROLE: 'ingress,graph' }).roles).toEqual(['ingress', 'graph']);
  });

  it('accepts several management keys for rotation', () => {
    const config = loadConfig({ ...valid, MANAGEMENT_API_KEY: 'first-key-0123456789, second-key-0123456789' });
    expect(config.management.apiKeys).toEqual(['first-key-0123456789', 'second-key-0123456789']);
  });

  it('chooses roles from a comma list', () => {
    expect(loadConfig({ ...valid, HOOKGATE_ROLE: 'ingress, graph' }).roles).toEqual(['ingress', 'graph']);
  });

  it('rejects a database URL of the wrong kind', () => {
    expect(() => loadConfig({ ...valid, DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
  });
});
