import { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import type { Coordination } from './coordination.js';

export function createRedisCoordination(options: { url: string; keyPrefix: string; log: Logger }): Coordination {
  const redis = new Redis(options.url, {
    keyPrefix: options.keyPrefix,
    lazyConnect: false,
    // Fail fast while disconnected instead of queueing commands without bound; callers retry.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 100, 2000),
  });
  let lastError = '';
  redis.on('error', (error: Error) => {
    // ioredis reconnects by itself; log each distinct failure once rather than every retry.
    if (error.message !== lastError) options.log.warn({ component: 'redis', err: error.message }, 'redis connection error');
    lastError = error.message;
  });
  redis.on('ready', () => {
    lastError = '';
  });

  const markerKey = (id: string) => `marker:${id}`;

  return {
    async ping() {
      await redis.ping();
    },
    async markersExist(ids) {
      if (ids.length === 0) return [];
      const values = await redis.mget(ids.map(markerKey));
      return values.map((value) => value !== null);
    },
    async setMarkers(ids, ttlSeconds) {
      if (ids.length === 0) return;
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.set(markerKey(id), '1', 'EX', ttlSeconds);
      await pipeline.exec();
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
