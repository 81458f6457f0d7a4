/**
 * Regions whose Redis differ in shape: region a on a Redis Cluster (3 masters, 3 replicas, each
 * service over 4 key spaces), region b on one redis-server. Each runs a sync worker following the
 * other: a's fills are copied to b, a purge by filter made in a is applied in b (one journal record
 * per key space), and a purge by URL made in b is applied in a's key space for that URL — with
 * receipts from both.
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, createRedisClient, type RedisClient } from '../../../src/redis/connect.js';
import { type LocalCluster, startLocalCluster } from '../../../src/redis/local-cluster.js';
import { type LocalRedis, startLocalRedis } from '../../../src/redis/local-server.js';
import { SyncWorker } from '../../../src/regions/sync-worker.js';
import { purgeMatching, purgeUrl } from '../../../src/store/bulk-purge.js';
import { RedisStore } from '../../../src/store/redis-store.js';
import { singleObject } from '../../../src/store/single-object.js';
import { makeEntry } from '../../helpers/entries.js';
import { PREWARM } from '../../helpers/regions.js';
import { waitFor } from '../../helpers/wait.js';

const SERVICE = `cr-${randomUUID().slice(0, 8)}`;
const LIMITS = { maxObjects: 50_000, maxBytes: 0, lfuHalfLifeMs: 86_400_000 };
const PAGES = ['Aa01', 'Bb02', 'Cc03', 'Dd04', 'Ee05', 'Ff06'];

let cluster: LocalCluster;
let single: LocalRedis;
const clients: RedisClient[] = [];
const workers: SyncWorker[] = [];
let a: RedisStore;
let b: RedisStore;

async function connect(url: string): Promise<RedisClient> {
  const client = createRedisClient({ url, commandTimeoutMs: 5000 });
  clients.push(client);
  await connectRedis(client);
  return client;
}

function worker(
  region: string,
  store: RedisStore,
  shards: number,
  peer: { id: string; client: RedisClient; shards: number },
) {
  return new SyncWorker({
    region,
    services: [SERVICE],
    store,
    client: store.client,
    shards,
    peers: [peer],
    pollMs: 10,
    batch: 100,
    trimEveryMs: 200,
    prewarm: { ...PREWARM, concurrency: 4, perSecond: 1000, maxQueued: 1000 },
    limits: () => LIMITS,
    log: pino({ level: 'silent' }),
  });
}

beforeAll(async () => {
  [cluster, single] = await Promise.all([startLocalCluster(), startLocalRedis()]);
  const [aClient, bClient] = [await connect(cluster.url), await connect(single.url)];
  a = new RedisStore(aClient, false, aClient, undefined, 4, 'a');
  b = new RedisStore(bClient, false, bClient, undefined, 1, 'b');
  workers.push(
    worker('a', a, 4, { id: 'b', client: await connect(single.url), shards: 1 }),
    worker('b', b, 1, { id: 'a', client: await connect(cluster.url), shards: 4 }),
  );
  for (const w of workers) await w.start();
}, 60_000);

afterAll(async () => {
  for (const w of workers) await w.stop();
  for (const client of clients) client.disconnect();
  await Promise.all([cluster?.stop(), single?.stop()]);
});

const has = async (store: RedisStore, page: string) =>
  (await store.find(SERVICE, page, page, Date.now())).record !== undefined;

describe('regions on a Redis Cluster and on one Redis', () => {
  it('copies fills, and applies purges by filter and by URL across the two shapes', async () => {
    const now = Date.now();
    for (const page of PAGES) {
      await a.put(
        singleObject({
          service: SERVICE,
          primaryKey: page,
          entryKey: page,
          entry: makeEntry(`page ${page}`, { now, path: `/p/${page}`, tags: page < 'D' ? ['sale'] : [] }),
          ...LIMITS,
        }),
        now,
      );
    }
    // a's pages sit in several key spaces of the cluster; b copies every one.
    await waitFor(async () => (await Promise.all(PAGES.map((page) => has(b, page)))).every(Boolean), 'b to copy');

    // A purge by tag in a: one journal record per key space, each applied in b.
    const tagged = await purgeMatching(a, SERVICE, { tag: 'sale' }, { soft: false, dryRun: false, now: Date.now });
    expect(tagged.purged).toBe(3);
    expect(tagged.receipt?.split(',')).toHaveLength(4);
    await waitFor(
      async () => (await a.receipt(SERVICE, tagged.receipt as string)).has('b'),
      'b to apply the tag purge',
    );
    expect(await Promise.all(PAGES.map((page) => has(b, page)))).toEqual([false, false, false, true, true, true]);

    // A purge by URL in b, applied in a's key space for that URL.
    const byUrl = await purgeUrl(b, SERVICE, 'Ee05', undefined, false, Date.now());
    await waitFor(async () => (await b.receipt(SERVICE, byUrl.receipt)).has('a'), 'a to apply the URL purge');
    expect(await has(a, 'Ee05')).toBe(false);
    expect(await has(a, 'Ff06')).toBe(true);
  });
});
