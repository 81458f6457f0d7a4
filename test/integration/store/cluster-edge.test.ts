/**
 * The edge on a real Redis Cluster (3 masters, 3 replicas on loopback): one service split into key
 * spaces lands on every master, and hits, listing page by page, purges by tag, invalidation and
 * stats work across them.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { type LocalCluster, startLocalCluster } from '../../../src/redis/local-cluster.js';
import { listedPaths, taggedHashes } from '../../helpers/entries.js';
import { startEdge, test } from '../../helpers/fixtures.js';
import { settled } from '../../helpers/wait.js';

let cluster: LocalCluster;
beforeAll(async () => {
  cluster = await startLocalCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

/** Keys matching `pattern` on each node that is a master now. */
async function keysPerMaster(pattern: string): Promise<number[]> {
  const counts: number[] = [];
  for (const node of cluster.nodes) {
    const client = new Redis(node.port, node.host, { maxRetriesPerRequest: 1 });
    try {
      const role = (await client.call('ROLE')) as [string];
      if (role[0] === 'master') counts.push((await client.keys(pattern)).length);
    } finally {
      client.disconnect();
    }
  }
  return counts;
}

describe('the edge on a Redis Cluster', () => {
  test('spreads one service over every master and keeps hits, listing, purges and stats whole', async ({ origin }) => {
    origin.handle((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'max-age=600', 'surrogate-key': 'page' });
      res.end(`<p>${req.url} ${'is a page that compresses well '.repeat(40)}</p>`);
    });
    const edge = await startEdge(cluster.url, origin.url, { serviceShards: 16 });
    try {
      const gzip = { 'accept-encoding': 'gzip' };
      for (let i = 0; i < 60; i++) await edge.get(`/c/${i}`, { headers: gzip });
      await settled(edge);
      for (let i = 0; i < 60; i += 7) {
        const hit = await edge.get(`/c/${i}`, { headers: gzip });
        expect(hit.headers['x-cache-status']).toBe('Hit');
        expect(hit.headers['content-encoding']).toBe('gzip');
      }
      // Every master holds part of the service.
      const perMaster = await keysPerMaster(`cf:{${edge.service}/*`);
      expect(perMaster).toHaveLength(3);
      for (const n of perMaster) expect(n).toBeGreaterThan(0);

      expect((await edge.store.readStats(edge.service)).entries).toBe(60);
      expect(await listedPaths(edge.store, edge.service, { pathPrefix: '/c/' }, 9)).toEqual(
        Array.from({ length: 60 }, (_, i) => `/c/${i}`).sort(),
      );

      const tagged = { hashes: await taggedHashes(edge.store, edge.service, 'page') };
      expect(tagged.hashes).toHaveLength(60);
      expect(await edge.store.purgeEntries(edge.service, tagged.hashes.slice(0, 20), false, Date.now())).toHaveLength(
        20,
      );
      expect((await edge.store.readStats(edge.service)).entries).toBe(40);

      const [survivor] = (
        await edge.store.listEntries(edge.service, { filter: {}, limit: 1, mode: 'items' }, Date.now())
      ).items;
      const path = survivor?.path as string;
      expect((await edge.get(path, { headers: gzip })).headers['x-cache-status']).toBe('Hit');
      await edge.get(path, { method: 'POST', body: 'x' });
      expect((await edge.get(path, { headers: gzip })).headers['x-cache-status']).not.toBe('Hit');
    } finally {
      await edge.close();
    }
  });
});
