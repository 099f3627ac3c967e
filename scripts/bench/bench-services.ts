import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';

/** Small, bounded chores on the shared Kafka and Redis: versions for the report, and cleaning up after a run. */

function quietKafka(brokers: string[]): Kafka {
  return new Kafka({
    clientId: 'hookgate-bench',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: { retries: 2 },
  });
}

/** Connects to the brokers once, so a bench stops with one clear line when Kafka is down. */
export async function checkKafka(brokers: string[]): Promise<void> {
  const admin = quietKafka(brokers).admin();
  await admin.connect();
  await admin.disconnect();
}

/** Deletes the topics a run created; topics that do not exist are skipped. */
export async function deleteTopics(brokers: string[], topics: string[]): Promise<string[]> {
  const admin = quietKafka(brokers).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((topic) => existing.has(topic));
    if (present.length > 0) await admin.deleteTopics({ topics: present, timeout: 15_000 });
    return present;
  } finally {
    await admin.disconnect();
  }
}

async function withRedis<T>(url: string, run: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 3_000, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => {});
  await redis.connect();
  try {
    return await run(redis);
  } finally {
    redis.disconnect();
  }
}

export async function redisVersion(url: string): Promise<string> {
  return withRedis(url, async (redis) => /^redis_version:(\S+)/m.exec(await redis.info('server'))?.[1] ?? 'unknown');
}

/** The pid of the Redis server (when it runs on this machine), to see what the load costs it. */
export async function redisServerPid(url: string): Promise<number | null> {
  return withRedis(url, async (redis) => {
    const pid = Number(/^process_id:(\d+)/m.exec(await redis.info('server'))?.[1]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  });
}

/** Removes every key under `prefix` (the run's own prefix; nothing else is touched). */
export async function deleteKeysWithPrefix(url: string, prefix: string): Promise<number> {
  return withRedis(url, async (redis) => {
    let cursor = '0';
    let deleted = 0;
    const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      if (keys.length > 0) deleted += await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    return deleted;
  });
}
