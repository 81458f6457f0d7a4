/**
 * Where a test's edges store: the test file's own Redis, or a real Redis Cluster (3 masters and 3
 * replicas on loopback) started on first use, with each service split into key spaces over its
 * masters. Tests run `describe.each(TARGETS)` to hold both to the same behaviour.
 */
import { afterAll } from 'vitest';
import { connectRedis, createRedisClient, type RedisClient } from '../../src/redis/connect.js';
import { type LocalCluster, startLocalCluster } from '../../src/redis/local-cluster.js';

export type Target = 'one Redis' | 'a Redis Cluster';
export const TARGETS: readonly Target[] = ['one Redis', 'a Redis Cluster'];

export interface StoreAt {
  url: string;
  serviceShards: number;
  /** A client for it, as the edge makes them (connected). */
  client(): Promise<RedisClient>;
}

/** Call at a test file's top level: its cluster, if one was started, stops after the file. */
export function storeTargets(): (target: Target, redis: { url: string }) => Promise<StoreAt> {
  let cluster: Promise<LocalCluster> | undefined;
  afterAll(async () => {
    await (await cluster)?.stop();
  });
  return async (target, redis) => {
    let url = redis.url;
    let serviceShards = 1;
    if (target === 'a Redis Cluster') {
      cluster ??= startLocalCluster();
      url = (await cluster).url;
      serviceShards = 4;
    }
    return {
      url,
      serviceShards,
      client: async () => {
        const client = createRedisClient({ url, commandTimeoutMs: 5000 });
        await connectRedis(client);
        return client;
      },
    };
  };
}
