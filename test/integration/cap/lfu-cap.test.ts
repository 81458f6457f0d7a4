/**
 * The per-service object cap with LFU eviction: several edge nodes filling one service at once
 * never leave it above its cap, the hot set survives a Zipf workload, and old hits fade.
 */
import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { keySpace, servicePrefix } from '../../../src/store/keys.js';
import { MAX_PENDING, RedisStore } from '../../../src/store/redis-store.js';
import { singleObject } from '../../../src/store/single-object.js';
import { makeEntry } from '../../helpers/entries.js';
import { newServiceId, startEdge, type TestEdge, test } from '../../helpers/fixtures.js';
import { settled } from '../../helpers/wait.js';

/** Ranks 1..n with P(rank) ∝ 1/rank (Zipf, s = 1), from a seeded generator so runs repeat. */
function zipf(n: number, seed: number): () => number {
  const weights = Array.from({ length: n }, (_, i) => 1 / (i + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    let r = (state / 2 ** 31) * total;
    for (let i = 0; i < n; i++) {
      r -= weights[i] as number;
      if (r <= 0) return i + 1;
    }
    return n;
  };
}

async function countEntries(client: Redis, service: string): Promise<number> {
  let cursor = '0';
  let count = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `cf:{${service}}:e:*`, 'COUNT', 1000);
    cursor = next;
    count += keys.length;
  } while (cursor !== '0');
  return count;
}

describe('per-service object cap with LFU eviction', () => {
  test('four edge nodes filling at once never exceed the cap, and the hot set survives', async ({ redis, origin }) => {
    const CAP = 40;
    const service = newServiceId();
    const setup = { serviceId: service, service: { cache: { maxObjects: CAP } }, hitFlushMs: 50 };
    const nodes: TestEdge[] = [];
    for (let i = 0; i < 4; i++) nodes.push(await startEdge(redis.url, origin.url, setup));
    const client = redis.client();
    const freq = keySpace(servicePrefix(service)).freq;
    let peakIndexed = 0;
    let peakStored = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        // Each sample is two Redis round trips: the loop yields on them, as often as it can.
        peakIndexed = Math.max(peakIndexed, await client.zcard(freq));
        peakStored = Math.max(peakStored, await countEntries(client, service));
      }
    })();
    try {
      const next = zipf(400, 42);
      const workers = Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 150; i++) await (nodes[(w + i) % 4] as TestEdge).get(`/item/${next()}`);
      });
      await Promise.all(workers);
      // Every fill stored, and every node's hits flushed into the frequencies.
      for (const node of nodes) await settled(node);
      await Promise.all(nodes.map((node) => node.app.background.flushHits()));
      sampling = false;
      await sampler;
      // Indexing and eviction are one atomic step: the indexed objects never exceed the cap. Objects
      // stored and not yet indexed may, by the documented bound: MAX_PENDING plus the stores in
      // flight (at most one per client here).
      expect(peakIndexed).toBeLessThanOrEqual(CAP);
      expect(peakStored).toBeLessThanOrEqual(CAP + MAX_PENDING + 8);
      expect(await countEntries(client, service)).toBeLessThanOrEqual(CAP);
      expect(await client.zcard(freq)).toBeLessThanOrEqual(CAP);
      const evictions = Number(await client.hget(`cf:{${service}}:stats`, 'evictions'));
      expect(evictions).toBeGreaterThan(0);
      // The hottest items (ranks 1-5 carry about a third of all requests) are still cached.
      for (let rank = 1; rank <= 5; rank++) {
        expect((await (nodes[0] as TestEdge).get(`/item/${rank}`)).headers['x-cache-status'], `rank ${rank}`).toBe(
          'Hit',
        );
      }
    } finally {
      sampling = false;
      for (const node of nodes) await node.close();
    }
  });

  test('old hits fade: yesterday’s hot object leaves before today’s', async ({ redis }) => {
    const client = new Redis(redis.url);
    const store = new RedisStore(client);
    const service = newServiceId();
    const HALF_LIFE = 1000;
    const t0 = Date.now();
    const put = (key: string, now: number, maxObjects: number) =>
      store.put(
        singleObject({
          service,
          primaryKey: key,
          entryKey: key,
          entry: makeEntry('x', { now }),
          maxObjects,
          lfuHalfLifeMs: HALF_LIFE,
        }),
        now,
      );
    try {
      await put('old-hot', t0, 2);
      await store.touch(service, new Map([['old-hot', 1000]]), t0, HALF_LIFE); // ~2^10 worth of hits
      await put('fresh-1', t0, 2);
      await put('fresh-2', t0, 2); // same moment: the cold fresh-1 is evicted, not old-hot
      await store.drain(service);
      expect(await store.get(service, 'old-hot', t0)).toBeDefined();
      expect(await store.get(service, 'fresh-1', t0)).toBeUndefined();
      // 20 half-lives later a single new hit outweighs a thousand old ones
      const later = t0 + 20 * HALF_LIFE;
      await store.touch(service, new Map([['fresh-2', 1]]), later, HALF_LIFE);
      await put('new', later, 2);
      await store.drain(service);
      expect(await store.get(service, 'old-hot', later)).toBeUndefined();
      expect(await store.get(service, 'fresh-2', later)).toBeDefined();
      expect(await store.get(service, 'new', later)).toBeDefined();
    } finally {
      await store.close();
    }
  });

  test('a byte cap evicts the least frequently used until the service fits, and counts stored bytes', async ({
    redis,
  }) => {
    const client = new Redis(redis.url);
    const store = new RedisStore(client);
    const service = newServiceId();
    const now = Date.now();
    const put = (key: string, bytes: number) =>
      store.put(
        singleObject({
          service,
          primaryKey: key,
          entryKey: key,
          entry: makeEntry(Buffer.alloc(bytes, 'b'), { now }),
          maxObjects: 1000,
          maxBytes: 10_000,
          lfuHalfLifeMs: 86_400_000,
        }),
        now,
      );
    try {
      await put('hot', 4_000);
      await store.touch(service, new Map([['hot', 50]]), now, 86_400_000);
      await put('cold', 4_000);
      expect((await store.readStats(service)).bytesStored).toBe(8_000);
      await put('newest', 4_000); // 12,000 > 10,000: the least used of the three goes
      const stats = await store.readStats(service);
      expect(stats.bytesStored).toBeLessThanOrEqual(10_000);
      expect(stats.evictions).toBe(1);
      expect(await store.get(service, 'hot', now)).toBeDefined();
      const left = [await store.get(service, 'cold', now), await store.get(service, 'newest', now)].filter(Boolean);
      expect(left.length).toBe(1);
      // Replacing an entry counts its new size, not both.
      await put('hot', 1_000);
      expect((await store.readStats(service)).bytesStored).toBe(5_000);
    } finally {
      await store.close();
    }
  });

  test('invalidation and Vary changes keep the indexes consistent', async ({ redis, origin }) => {
    const edge = await startEdge(redis.url, origin.url);
    try {
      await edge.get('/a');
      await edge.get('/b');
      await settled(edge);
      const client = redis.client();
      const idx = keySpace(servicePrefix(edge.service));
      expect(await client.zcard(idx.freq)).toBe(2);
      await edge.get('/a', { method: 'DELETE' });
      expect(await client.zcard(idx.freq)).toBe(1);
      expect(await client.hlen(idx.info)).toBe(1);
      expect(await client.zcard(idx.expiry)).toBe(1);
    } finally {
      await edge.close();
    }
  });
});
