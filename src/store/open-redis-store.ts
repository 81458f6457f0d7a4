/**
 * @module The Redis store as the edge, the image worker and the sync worker open it: two
 * connections and the adaptive read deadline.
 */
import { createRedisClient, type RedisClient } from '../redis/connect.js';
import { ReadDeadline } from './read-deadline.js';
import { RedisStore } from './redis-store.js';

export interface RedisStoreSettings {
  url: string;
  /** The read deadline's floor and ceiling (store/read-deadline.ts). */
  readTimeoutMs: number;
  readTimeoutMaxMs: number;
  /** Every other call (stores, purges, stats, leases). */
  commandTimeoutMs: number;
  /** Key spaces (hash slots) per service (redis.serviceShards; default 1). */
  serviceShards?: number;
  /** This region's id, when regions are configured: fills and purges are journaled for the others. */
  region?: string;
  /** The commands of a turn in one write (redis.autoPipelining; single-node Redis only). */
  autoPipelining?: boolean;
}

/**
 * The store as the edge runs it: two connections, the request path's reads on their own (bounded
 * by the adaptive read deadline; the client's own timeout only frees commands stuck on a hung
 * connection) and everything else on the other. Call connectRedis on both clients before use.
 */
export function openRedisStore(settings: RedisStoreSettings): {
  store: RedisStore;
  client: RedisClient;
  reader: RedisClient;
} {
  const pipelining = { autoPipelining: settings.autoPipelining ?? false };
  const client = createRedisClient({ url: settings.url, commandTimeoutMs: settings.commandTimeoutMs, ...pipelining });
  const reader = createRedisClient({
    url: settings.url,
    commandTimeoutMs: 2 * settings.readTimeoutMaxMs,
    ...pipelining,
  });
  const deadline = new ReadDeadline(settings.readTimeoutMs, settings.readTimeoutMaxMs);
  const store = new RedisStore(client, true, reader, deadline, settings.serviceShards ?? 1, settings.region ?? '');
  return { store, client, reader };
}
