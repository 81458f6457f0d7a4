/**
 * A service split into several key spaces (redis.serviceShards): its URLs spread over as many
 * Redis Cluster slots, each URL whole in one, and everything that works on one space works on
 * several — hits, listing page by page, purges, invalidation, stats and the object cap.
 */
import calculateSlot from 'cluster-key-slot';
import { describe, expect } from 'vitest';
import { listedPaths, taggedHashes } from '../../helpers/entries.js';
import { startEdge, test } from '../../helpers/fixtures.js';
import { settled } from '../../helpers/wait.js';

const SHARDS = 4;

describe('a service over several key spaces', () => {
  test('spreads its URLs over slots and keeps every operation whole', async ({ redis, origin }) => {
    origin.handle((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'max-age=600', 'surrogate-key': 'page' });
      res.end(`<p>${req.url} ${'is a page that compresses well '.repeat(40)}</p>`);
    });
    const edge = await startEdge(redis.url, origin.url, {
      serviceShards: SHARDS,
    });
    try {
      const gzip = { 'accept-encoding': 'gzip' };
      for (let i = 0; i < 40; i++) await edge.get(`/p/${i}`, { headers: gzip });
      await settled(edge);
      // Hits from Redis (the L1 lives 1 s, so ask again after a drain of its copies).
      for (let i = 0; i < 40; i += 13) {
        const hit = await edge.get(`/p/${i}`, { headers: gzip });
        expect(hit.headers['x-cache-status']).toBe('Hit');
        expect(hit.headers['content-encoding']).toBe('gzip');
      }

      // Keys sit in every space, each space in its own slot, and a URL's keys never straddle two.
      const keys = await edge.redis.keys(`cf:{${edge.service}/*`);
      const slots = new Set(keys.map((key) => calculateSlot(key)));
      expect(slots.size).toBe(SHARDS);
      expect(await edge.redis.exists(`cf:{${edge.service}}:idx:info`)).toBe(0);

      // Stats add the spaces up.
      const stats = await edge.store.readStats(edge.service);
      expect(stats.entries).toBe(40);

      // Listing, page by page across the spaces: every object once.
      expect(await listedPaths(edge.store, edge.service, { pathPrefix: '/p/' }, 7)).toEqual(
        Array.from({ length: 40 }, (_, i) => `/p/${i}`).sort(),
      );

      // A purge of a tag's objects reaches every space.
      const tagged = { hashes: await taggedHashes(edge.store, edge.service, 'page') };
      expect(tagged.hashes).toHaveLength(40);
      const purged = await edge.store.purgeEntries(edge.service, tagged.hashes.slice(0, 10), false, Date.now());
      expect(purged).toHaveLength(10);
      expect((await edge.store.readStats(edge.service)).entries).toBe(30);

      // RFC 9111 §4.4 invalidation of one URL, wherever it lives.
      const survivor = (await edge.store.listEntries(edge.service, { filter: {}, limit: 1, mode: 'items' }, Date.now()))
        .items[0]?.path as string;
      expect((await edge.get(survivor, { headers: gzip })).headers['x-cache-status']).toBe('Hit');
      await edge.get(survivor, { method: 'POST', body: 'x' });
      const after = await edge.get(survivor, { headers: gzip });
      expect(after.headers['x-cache-status']).not.toBe('Hit');
    } finally {
      await edge.close();
    }
  });

  test('each space holds its share of the cap: the service never holds more than the cap rounded up per space', async ({
    redis,
    origin,
  }) => {
    origin.handle((req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=600' });
      res.end(`object ${req.url}`);
    });
    const cap = 10;
    const edge = await startEdge(redis.url, origin.url, {
      serviceShards: SHARDS,
      service: { cache: { maxObjects: cap } },
    });
    try {
      for (let i = 0; i < 60; i++) await edge.get(`/o/${i}`);
      await settled(edge);
      const stats = await edge.store.readStats(edge.service);
      // 60 objects into spaces of ceil(10 / 4) = 3 each: at most 12, and every space full.
      expect(stats.entries).toBeLessThanOrEqual(SHARDS * Math.ceil(cap / SHARDS));
      expect(stats.entries).toBeGreaterThanOrEqual(SHARDS * Math.ceil(cap / SHARDS) - 1);
      expect(stats.evictions).toBe(60 - (stats.entries ?? 0));
    } finally {
      await edge.close();
    }
  });
});
