/** Redis's own memory limit: infra/redis.conf's policy, and a store filled well past maxmemory. */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { keySpace, servicePrefix } from '../../../src/store/keys.js';
import { RedisStore } from '../../../src/store/redis-store.js';
import { singleObject } from '../../../src/store/single-object.js';
import { makeEntry } from '../../helpers/entries.js';
import { startTestRedis } from '../../helpers/redis.js';

describe('Redis memory limits', () => {
  it('runs with infra/redis.conf: volatile-lfu, nothing persisted', async () => {
    const redis = await startTestRedis();
    const client = new Redis(redis.url);
    try {
      expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'volatile-lfu']);
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
    } finally {
      client.disconnect();
      await redis.stop();
    }
  });

  it('filled well past maxmemory, writes keep succeeding, the indexes survive and heal on listing', async () => {
    const redis = await startTestRedis(['--maxmemory', '3mb']);
    const client = new Redis(redis.url);
    const store = new RedisStore(client, false);
    const now = Date.now();
    try {
      for (let i = 0; i < 1500; i++) {
        await store.put(
          singleObject({
            service: 'mem',
            primaryKey: `p${i}`,
            entryKey: `e${i}`,
            entry: makeEntry(Buffer.alloc(4096, 'z'), { now }),
            maxObjects: 50_000,
            lfuHalfLifeMs: 86_400_000,
          }),
          now,
        );
      }
      // ~6 MB of bodies into 3 MB: Redis evicted entries on its own …
      const alive = (await Promise.all(Array.from({ length: 1500 }, (_, i) => store.get('mem', `e${i}`, now)))).filter(
        Boolean,
      );
      expect(alive.length).toBeGreaterThan(0);
      expect(alive.length).toBeLessThan(1500);
      // … but never the indexes nor the queue of objects to index (no TTL under volatile-lfu), so the
      // cap's bookkeeping survives: every object still there when indexed is counted
      await store.drain('mem');
      expect(await client.llen(keySpace(servicePrefix('mem')).pending)).toBe(0);
      const indexed = await client.zcard(keySpace(servicePrefix('mem')).freq);
      expect(indexed).toBeGreaterThanOrEqual(alive.length);
      expect(await client.exists(keySpace(servicePrefix('mem')).info)).toBe(1);
      expect(Number((await client.info('stats')).match(/evicted_keys:(\d+)/)?.[1])).toBeGreaterThan(0);
      // Listing skips what Redis evicted and removes it from every index: counts converge.
      let cursor: string | undefined;
      let listed = 0;
      let healed = 0;
      do {
        const page = await store.listEntries('mem', { filter: {}, cursor, limit: 200, mode: 'items' }, now);
        listed += page.items.length;
        healed += page.healed;
        for (const item of page.items) expect(await client.exists(`cf:{mem}:e:${item.hash}`)).toBe(1);
        cursor = page.cursor;
      } while (cursor !== undefined);
      const existing = (await client.keys('cf:{mem}:e:*')).length;
      expect(listed).toBe(existing);
      expect(healed).toBe(indexed - existing);
      const stats = await store.readStats('mem');
      expect(stats.entries).toBe(existing);
      expect(stats.bytesStored).toBe(existing * 4096);
      expect(await client.hlen(keySpace(servicePrefix('mem')).info)).toBe(existing);
      expect(await client.zcard(keySpace(servicePrefix('mem')).path)).toBe(existing);
      // A purge of everything left works on the healed indexes and empties them.
      const page = await store.listEntries('mem', { filter: {}, limit: 5000, mode: 'hashes' }, now);
      expect(await store.purgeEntries('mem', page.hashes, false, now)).toHaveLength(existing);
      expect(await client.zcard(keySpace(servicePrefix('mem')).path)).toBe(0);
      expect(Number(await client.hget('cf:{mem}:stats', 'bytesStored'))).toBe(0);
    } finally {
      client.disconnect();
      await redis.stop();
    }
  });
});
