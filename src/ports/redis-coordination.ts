import { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import type { Coordination, MessageHandler } from './coordination.js';

/** Redis' own clock in milliseconds, so that every instance agrees on a bucket's time. */
const REDIS_NOW_MS = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)`;

/**
 * GCRA (generic cell rate algorithm): one stored value per bucket, the "theoretical arrival
 * time" of the next request. KEYS = bucket; ARGV = interval, burst, wanted.
 * Returns {granted (up to wanted), retryAfterMs when none, the schedule after the take as text}.
 */
const GCRA_SCRIPT = `${REDIS_NOW_MS}
local interval, burst, wanted = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local granted = math.min(wanted, math.floor((now + burst - tat) / interval + 1e-9))
if granted < 1 then
  return {0, math.ceil(tat + interval - burst - now), 0}
end
local next_tat = tat + granted * interval
redis.call('SET', KEYS[1], next_tat, 'PX', math.ceil(next_tat - now))
return {granted, 0, tostring(next_tat)}
`;

/**
 * KEYS = bucket; ARGV = interval, count, taken_until (the bucket's schedule right after the take).
 * Gives back unused requests, but only those whose slots are still ahead: once the schedule has
 * passed them the bucket has refilled them already, and crediting them again would let it admit
 * more than its limit.
 */
const GCRA_RETURN_SCRIPT = `${REDIS_NOW_MS}
local interval, count, taken_until = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local credit = math.min(count, math.floor((taken_until - now) / interval))
if credit < 1 then return 0 end
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat then return 0 end
tat = tat - credit * interval
if tat <= now then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], tat, 'PX', math.ceil(tat - now))
end
return credit
`;

/**
 * KEYS = n marker keys, then the n lock keys of the same ids; ARGV = owner, ttlMs.
 * Per id: 2 = a marker exists, 1 = locked now for owner, 0 = another owner holds the lock.
 */
const CLAIM_SCRIPT = `
local n = #KEYS / 2
local result = {}
for i = 1, n do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    result[i] = 2
  elseif redis.call('SET', KEYS[n + i], ARGV[1], 'PX', ARGV[2], 'NX') then
    result[i] = 1
  else
    result[i] = 0
  end
end
return result
`;

/**
 * KEYS = marker keys to set, then lock keys to release; ARGV = number of markers, ttlSeconds, owner.
 * A lock is deleted only if it is still ours: one that expired and was taken over stays with its new owner.
 */
const SETTLE_SCRIPT = `
local markers = tonumber(ARGV[1])
for i = 1, markers do
  redis.call('SET', KEYS[i], '1', 'EX', ARGV[2])
end
for i = markers + 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[3] then
    redis.call('DEL', KEYS[i])
  end
end
return 0
`;

/**
 * Concurrency permits: a sorted set of holders scored by expiry (Redis' clock). KEYS[1] = the set;
 * ARGV = holder, limit, ttlMs. Expired holders are dropped first, so a crashed worker's permit
 * comes back after its time to live. Returns 1 when taken (or already held), 0 when all are held.
 */
const PERMIT_SCRIPT = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local ttl = tonumber(ARGV[3])
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`;

const CLAIM_STATES = ['busy', 'claimed', 'stored'] as const;

type RedisWithScripts = Redis & {
  gcra(key: string, interval: number, burst: number, wanted: number): Promise<[number, number, string]>;
  gcraReturn(key: string, interval: number, count: number, takenUntil: number): Promise<number>;
  acquirePermit(key: string, holder: string, limit: number, ttlMs: number): Promise<number>;
  claimForStorage(keyCount: number, ...keysThenArgs: (string | number)[]): Promise<number[]>;
  settleClaims(keyCount: number, ...keysThenArgs: (string | number)[]): Promise<number>;
};

export function createRedisCoordination(options: { url: string; keyPrefix: string; log: Logger }): Coordination {
  const connect = (queueWhileOffline: boolean) =>
    new Redis(options.url, {
      keyPrefix: options.keyPrefix,
      // Commands fail at once while Redis is away (no offline queue): every caller treats Redis as
      // optional and falls back, so a queued command would only make webhooks wait for nothing.
      // The subscriber keeps its queue: a subscription made while reconnecting must still happen.
      enableOfflineQueue: queueWhileOffline,
      // Commands issued in the same tick (a burst of webhooks' rate-limit checks) share one write.
      enableAutoPipelining: true,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      retryStrategy: (times) => Math.min(times * 100, 2000),
    });
  const redis = connect(false) as RedisWithScripts;
  redis.defineCommand('gcra', { numberOfKeys: 1, lua: GCRA_SCRIPT });
  redis.defineCommand('gcraReturn', { numberOfKeys: 1, lua: GCRA_RETURN_SCRIPT });
  redis.defineCommand('acquirePermit', { numberOfKeys: 1, lua: PERMIT_SCRIPT });
  // EVALSHA with a fallback to EVAL: the scripts' text crosses the wire once per connection.
  redis.defineCommand('claimForStorage', { lua: CLAIM_SCRIPT });
  redis.defineCommand('settleClaims', { lua: SETTLE_SCRIPT });
  // Pub/sub needs a connection of its own; it is opened on first subscribe.
  let subscriber: Redis | undefined;
  const handlers = new Map<string, Set<MessageHandler>>();

  const logErrors = (client: Redis, name: string) => {
    let lastError = '';
    client.on('error', (error: Error) => {
      // ioredis reconnects by itself; log each distinct failure once rather than every retry.
      if (error.message !== lastError) options.log.warn({ component: 'redis', connection: name, err: error.message }, 'redis connection error');
      lastError = error.message;
    });
    client.on('ready', () => {
      lastError = '';
    });
  };
  logErrors(redis, 'commands');

  const markerKey = (id: string) => `marker:${id}`;
  const lockKey = (id: string) => `lock:${id}`;

  return {
    async ping() {
      // Commands fail fast while disconnected; a ping right after start-up waits for the first connection.
      if (redis.status === 'connecting' || redis.status === 'connect' || redis.status === 'wait') {
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            redis.off('ready', done);
            resolve();
          };
          const timer = setTimeout(done, 2000);
          redis.once('ready', done);
        });
      }
      await redis.ping();
    },
    async claimForStorage(ids, owner, ttlMs) {
      if (ids.length === 0) return [];
      // Keys are prefixed by ioredis, so the script receives them ready to use.
      const keys = [...ids.map(markerKey), ...ids.map(lockKey)];
      const states = await redis.claimForStorage(keys.length, ...keys, owner, ttlMs);
      return states.map((state) => CLAIM_STATES[state]!);
    },
    async settleClaims(stored, release, owner, ttlSeconds) {
      if (stored.length === 0 && release.length === 0) return;
      const keys = [...stored.map(markerKey), ...release.map(lockKey)];
      await redis.settleClaims(keys.length, ...keys, stored.length, ttlSeconds, owner);
    },
    async consumeRateLimit(key, limit, periodMs) {
      const [granted, retryAfterMs] = await redis.gcra(`rl:${key}`, periodMs / limit, periodMs, 1);
      return { allowed: granted === 1, retryAfterMs };
    },
    async takeRateTokens(key, limit, periodMs, wanted) {
      const [granted, retryAfterMs, takenUntil] = await redis.gcra(`rl:${key}`, periodMs / limit, periodMs, Math.max(1, Math.floor(wanted)));
      return { granted, retryAfterMs, takenUntil: Number(takenUntil) };
    },
    async returnRateTokens(key, limit, periodMs, count, takenUntil) {
      if (count >= 1) await redis.gcraReturn(`rl:${key}`, periodMs / limit, Math.floor(count), takenUntil);
    },
    async acquirePermit(key, holder, limit, ttlMs) {
      return (await redis.acquirePermit(`permit:${key}`, holder, limit, Math.max(1, Math.ceil(ttlMs)))) === 1;
    },
    async releasePermit(key, holder) {
      await redis.zrem(`permit:${key}`, holder);
    },
    async publish(channel, message) {
      await redis.publish(`${options.keyPrefix}${channel}`, message);
    },
    async subscribe(channel, handler) {
      const fullChannel = `${options.keyPrefix}${channel}`;
      if (!subscriber) {
        subscriber = connect(true);
        logErrors(subscriber, 'subscriber');
        subscriber.on('message', (from: string, message: string) => {
          for (const listener of handlers.get(from) ?? []) {
            // One failing subscriber must not cost the others their message.
            try {
              listener(message);
            } catch (error) {
              options.log.error({ channel: from, err: error }, 'a subscriber failed on a message');
            }
          }
        });
      }
      let set = handlers.get(fullChannel);
      if (!set) {
        set = new Set();
        handlers.set(fullChannel, set);
        await subscriber.subscribe(fullChannel);
      }
      set.add(handler);
      return async () => {
        set.delete(handler);
        if (set.size === 0) {
          handlers.delete(fullChannel);
          await subscriber?.unsubscribe(fullChannel);
        }
      };
    },
    async close() {
      await Promise.all(
        [redis, subscriber].filter((client): client is Redis => client !== undefined).map((client) => client.quit().catch(() => client.disconnect())),
      );
    },
  };
}
