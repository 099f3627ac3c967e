import { join } from 'node:path';
import type { Config } from './config.js';
import { openDatabase, type DatabaseHandle } from './db/client.js';
import type { Logger } from './log.js';
import type { Coordination } from './ports/coordination.js';
import type { EventLogConsumer, EventLogProducer, PartitionLag } from './ports/event-log.js';
import { createKafkaClient, createKafkaConsumer, createKafkaLagReader, createKafkaProducer } from './ports/kafka-event-log.js';
import { createMemoryCoordination } from './ports/memory-coordination.js';
import { createMemoryEventLog } from './ports/memory-event-log.js';
import { createRedisCoordination } from './ports/redis-coordination.js';

/**
 * Each port picks its adapter on its own (DESIGN.md §4): a configured service, or the embedded
 * stand-in that lets `npm start` run on a bare machine.
 */
export interface Backends {
  database: DatabaseHandle;
  coordination: Coordination & { backend: 'redis' | 'memory' };
  eventLog: {
    backend: 'kafka' | 'memory';
    producer(): EventLogProducer;
    consumer(): EventLogConsumer;
    lag(): Promise<PartitionLag[]>;
    close(): Promise<void>;
  };
}

export async function openBackends(config: Config, log: Logger): Promise<Backends> {
  const database = await openDatabase({
    url: config.database.url,
    dataDir: join(config.dataDir, 'pglite'),
    poolSize: config.database.poolSize,
    log,
  });
  const coordination = config.redis.url
    ? { ...createRedisCoordination({ url: config.redis.url, keyPrefix: config.redis.keyPrefix, log }), backend: 'redis' as const }
    : { ...createMemoryCoordination(), backend: 'memory' as const };

  // Wait (briefly) for Redis before serving, so the first webhooks find their rate limits and markers.
  await coordination.ping().catch((error: Error) => log.warn({ err: error.message }, 'redis not reachable at start; running without it until it is'));

  let eventLog: Backends['eventLog'];
  if (config.kafka.brokers.length > 0) {
    const kafka = createKafkaClient(config.kafka, log);
    const lagReader = createKafkaLagReader(kafka, config.kafka);
    eventLog = {
      backend: 'kafka',
      producer: () => createKafkaProducer(kafka, config.kafka, config.ingress.producer, log),
      consumer: () => createKafkaConsumer(createKafkaClient(config.kafka, log, { retryForever: true }), config.kafka, log),
      lag: lagReader.lag,
      close: lagReader.close,
    };
  } else {
    // In-process: ingress and persist share one log, and a 202 waits until the event is stored.
    const memory = createMemoryEventLog({
      partitions: config.kafka.partitions,
      publishTimeoutMs: config.ingress.producer.publishTimeoutMs,
      maxPending: config.ingress.producer.maxPending,
    });
    eventLog = {
      backend: 'memory',
      producer: () => memory.producer,
      consumer: () => memory.consumer,
      lag: async () => memory.lag(),
      close: async () => {},
    };
  }
  log.info(
    { database: database.backend, coordination: coordination.backend, eventLog: eventLog.backend },
    'backends chosen (set DATABASE_URL, REDIS_URL, KAFKA_BROKERS to use the real services)',
  );
  return { database, coordination, eventLog };
}
