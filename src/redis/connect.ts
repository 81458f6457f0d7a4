/**
 * @module Redis connections as the edge wants them: bounded command time, no offline queue (while
 * Redis is unreachable a command fails at once instead of waiting for a reconnection), automatic
 * reconnection, no auto-pipelining (measured slower here), and a readiness check. A target is one
 * Redis (`redis://host:port`) or a Redis Cluster (`redis+cluster://host:port,host:port…`, its seed
 * nodes): ioredis' Cluster client then follows MOVED and ASK, takes the topology from the seeds and
 * refreshes it after a failover.
 */
import { Cluster, Redis } from 'ioredis';

/** One Redis or a cluster: the store and its scripts use the commands both share. */
export type RedisClient = Redis | Cluster;

export interface RedisSettings {
  /** `redis://…`, `rediss://…` or `redis+cluster://host:port,host:port…`. */
  url: string;
  commandTimeoutMs: number;
  /** One write for the commands of a turn (single-node Redis only; default off). */
  autoPipelining?: boolean;
}

const CLUSTER_SCHEME = 'redis+cluster://';

export interface ClusterSeed {
  host: string;
  port: number;
}

/** The seed nodes of a `redis+cluster://` target; undefined for a single Redis. */
export function clusterSeeds(url: string): ClusterSeed[] | undefined {
  if (!url.startsWith(CLUSTER_SCHEME)) return undefined;
  return url
    .slice(CLUSTER_SCHEME.length)
    .split(',')
    .filter((seed) => seed !== '')
    .map((seed) => {
      const at = seed.lastIndexOf(':');
      const host = at === -1 ? seed : seed.slice(0, at);
      const port = at === -1 ? 6379 : Number(seed.slice(at + 1));
      if (host === '' || !Number.isInteger(port) || port <= 0 || port > 65_535) {
        throw new Error(`"${seed}" is not host:port in ${url}`);
      }
      return { host, port };
    });
}

/** The `redis+cluster://` target for a list of seeds. */
export function clusterUrl(seeds: readonly string[]): string {
  return `${CLUSTER_SCHEME}${seeds.join(',')}`;
}

export function createRedisClient(settings: RedisSettings): RedisClient {
  const seeds = clusterSeeds(settings.url);
  const client = seeds
    ? new Cluster(seeds, {
        enableOfflineQueue: false,
        // Never on a cluster: ioredis routes some pipelined scripts to the wrong slot group.
        enableAutoPipelining: false,
        lazyConnect: true,
        // Masters only: a replica's copy may lag, and a hit must never see a purged entry again.
        scaleReads: 'master',
        clusterRetryStrategy: (times) => Math.min(50 * times, 1000),
        redisOptions: { commandTimeout: settings.commandTimeoutMs, maxRetriesPerRequest: 0 },
      })
    : new Redis(settings.url, {
        commandTimeout: settings.commandTimeoutMs,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        enableAutoPipelining: settings.autoPipelining ?? false,
        lazyConnect: true,
        // Reconnect for ever, never more than a second apart: the edge serves without Redis meanwhile.
        retryStrategy: (times) => Math.min(50 * times, 1000),
      });
  // Connection errors are reported by the calls that fail; without a listener ioredis logs each.
  client.on('error', () => undefined);
  return client;
}

/** Connects a client made by createRedisClient (commands fail until it is connected). */
export async function connectRedis(client: RedisClient): Promise<void> {
  if (client.status === 'wait') await client.connect();
}

/** True when a Redis (or, for a cluster target, the cluster) answers PING at `url` within `timeoutMs`. */
export async function redisReachable(url: string, timeoutMs = 1000): Promise<boolean> {
  const seeds = clusterSeeds(url);
  const client = seeds
    ? new Cluster(seeds, {
        lazyConnect: true,
        clusterRetryStrategy: () => null,
        slotsRefreshTimeout: timeoutMs,
        redisOptions: { connectTimeout: timeoutMs, commandTimeout: timeoutMs, maxRetriesPerRequest: 0 },
      })
    : new Redis(url, {
        lazyConnect: true,
        connectTimeout: timeoutMs,
        commandTimeout: timeoutMs,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
