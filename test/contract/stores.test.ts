import { Redis } from 'ioredis';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { TieredStore } from '../../src/store/tiered-store.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { describeCacheStore } from './cache-store.contract.js';
import { describeEntryIndex } from './entry-index.contract.js';

describeCacheStore('memory (embedded / L1)', async () => new MemoryStore({ maxBytes: 16 * 1024 * 1024 }));
describeEntryIndex('memory (embedded)', async () => new MemoryStore({ maxBytes: 16 * 1024 * 1024 }));

let redis: TestRedis | undefined;
const redisStore = async () => {
  redis ??= await startTestRedis();
  return new RedisStore(new Redis(redis.url));
};
describeCacheStore('redis', redisStore);
describeEntryIndex('redis', redisStore);
describeEntryIndex(
  'tiered',
  async () => new TieredStore(new MemoryStore({ maxBytes: 1024 * 1024, maxTtlMs: 60_000 }), await redisStore()),
);
describeCacheStore(
  'tiered (L1 in front of redis)',
  async () => new TieredStore(new MemoryStore({ maxBytes: 1024 * 1024, maxTtlMs: 60_000 }), await redisStore()),
  async () => {
    await redis?.stop();
  },
);
