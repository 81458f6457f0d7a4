/**
 * The store contracts on a real Redis Cluster (3 masters, 3 replicas, on loopback, started by the
 * harness): the Redis store through ioredis' Cluster client, alone and behind the L1, with the
 * purge announcements over the cluster's pub/sub.
 */
import { connectRedis, createRedisClient, type RedisClient } from '../../src/redis/connect.js';
import { type LocalCluster, startLocalCluster } from '../../src/redis/local-cluster.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { TieredStore } from '../../src/store/tiered-store.js';
import { describeCacheStore } from './cache-store.contract.js';
import { describeEntryIndex } from './entry-index.contract.js';

let cluster: Promise<LocalCluster> | undefined;
const clients: RedisClient[] = [];

async function clusterStore(): Promise<RedisStore> {
  cluster ??= startLocalCluster();
  const { url } = await cluster;
  const client = createRedisClient({ url, commandTimeoutMs: 5000 });
  clients.push(client);
  await connectRedis(client);
  return new RedisStore(client, true);
}

async function tieredOnCluster(): Promise<TieredStore> {
  const shared = await clusterStore();
  const tiered = new TieredStore(new MemoryStore({ maxBytes: 1024 * 1024, maxTtlMs: 60_000 }), shared);
  await tiered.listenForPurges(shared.client);
  return tiered;
}

describeCacheStore('redis cluster', clusterStore);
describeEntryIndex('redis cluster', clusterStore);
describeEntryIndex('tiered on a redis cluster', tieredOnCluster);
describeCacheStore('tiered on a redis cluster', tieredOnCluster, async () => {
  await (await cluster)?.stop();
});
