/**
 * A Redis Cluster master SIGKILLed under traffic: every request is answered (L1, stale or origin),
 * the edge follows the replica that takes over and stores again within 10 s, and an object whose
 * purge was acknowledged before the kill never comes back (removals wait for a replica: WAIT).
 */
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { type LocalCluster, startLocalCluster, waitForCluster } from '../../../src/redis/local-cluster.js';
import { shardOf, shardPrefix } from '../../../src/store/keys.js';
import { listedPaths } from '../../helpers/entries.js';
import { startEdge, test } from '../../helpers/fixtures.js';
import type { Sent } from '../../helpers/http.js';
import { settled, waitFor } from '../../helpers/wait.js';

const SHARDS = 16;
let cluster: LocalCluster;
beforeAll(async () => {
  cluster = await startLocalCluster({ nodeTimeoutMs: 1000 });
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

/** The node serving a slot now, by asking one that is up. */
async function ownerOf(slot: number): Promise<number> {
  for (const node of cluster.nodes) {
    if (node.process.exitCode !== null || node.process.signalCode !== null) continue;
    const client = new Redis(node.port, node.host, { maxRetriesPerRequest: 1 });
    try {
      const ranges = (await client.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      if (range) return range[2][1];
    } catch {
      // try the next node
    } finally {
      client.disconnect();
    }
  }
  throw new Error(`no node serves slot ${slot}`);
}

describe('Redis Cluster failover', () => {
  test('a master killed under traffic: answers throughout, stores again within 10 s, purges stay purged', async ({
    origin,
  }) => {
    origin.handle((req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=300', 'content-type': 'text/plain' });
      res.end(`origin ${req.url}`);
    });
    const edge = await startEdge(cluster.url, origin.url, {
      serviceShards: SHARDS,
      productionRedis: { readTimeoutMs: 50, commandTimeoutMs: 500 },
    });
    const answers: { path: string; sent: Sent }[] = [];
    let running = true;
    try {
      for (const path of ['/gone', '/hot']) await edge.get(path);
      await settled(edge);
      const [gone] = (
        await edge.store.listEntries(
          edge.service,
          { filter: { pathPrefix: '/gone' }, limit: 1, mode: 'items' },
          Date.now(),
        )
      ).items;
      if (!gone) throw new Error('/gone was not stored');
      // Purged (RFC 9111 invalidation by an unsafe request), acknowledged: then its master dies.
      await edge.get('/gone', { method: 'POST', body: 'x' });
      const slot = calculateSlot(`${shardPrefix(edge.service, shardOf(gone.hash, SHARDS), SHARDS)}e:x`);
      const victimPort = await ownerOf(slot);
      const victim = cluster.nodes.find((node) => node.port === victimPort);
      if (!victim) throw new Error('the master to kill is not one of ours');

      let n = 0;
      const traffic = (async () => {
        while (running) {
          const path = n % 3 === 0 ? '/hot' : `/cold-${n}`;
          n++;
          answers.push({ path, sent: await edge.get(path) });
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      await waitFor(() => answers.length > 20, 'traffic before the kill');
      const killedAt = Date.now();
      victim.process.kill('SIGKILL');
      const survivors = cluster.nodes.filter((node) => node !== victim);
      await waitForCluster(survivors, 20_000);

      // Stores again: a new object becomes a hit read back from Redis, within 10 s of the kill.
      let probe = 0;
      await waitFor(
        async () => {
          const path = `/after-${probe++}`;
          await edge.get(path);
          await settled(edge).catch(() => undefined);
          return (await edge.get(path)).headers['x-cache-status'] === 'Hit';
        },
        'a store after the failover',
        { timeoutMs: Math.max(1, 10_000 - (Date.now() - killedAt)), intervalMs: 50 },
      );
      running = false;
      await traffic;

      for (const { path, sent } of answers) {
        expect(sent.status, path).toBe(200);
        expect(sent.text).toBe(`origin ${path}`);
      }
      // The purge acknowledged before the kill held on the promoted replica.
      const again = await edge.get('/gone');
      expect(again.headers['x-cache-status']).not.toBe('Hit');
      expect(await listedPaths(edge.store, edge.service, { pathPrefix: '/gone' }, 10)).toEqual(['/gone']);
    } finally {
      running = false;
      await edge.close();
    }
  });
});
