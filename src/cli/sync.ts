/**
 * @module `cachefront sync --config FILE`: one per region, beside its edges. It reads the other
 * regions' journals from their Redis and applies their purges here (regions/sync-worker.ts), and
 * serves its metrics on sync.metrics.listen.
 */
import { connectRedis, createRedisClient, type RedisClient } from '../redis/connect.js';
import { type ServiceLimits, SyncWorker } from '../regions/sync-worker.js';
import { MemoryStore } from '../store/memory-store.js';
import { openRedisStore } from '../store/open-redis-store.js';
import { TieredStore } from '../store/tiered-store.js';
import { createLogger, loadOrExit, serveMetrics } from './serve.js';

export const SYNC_HELP = `Usage: cachefront sync --config FILE

Keeps this region in step with the others (docs/regions.md): reads their journals, applies their
purges here, and trims this region's own journals once every peer has read them. Run one per
region, with the edges' configuration (region.id and region.peers must be set).

Options:
  -c, --config FILE   configuration file (YAML or JSON); see docs/config.md
  -h, --help          this text

Environment:
  REDIS_URL   overrides redis.url (this region's Redis)
  LOG_LEVEL   pino log level (default info)
`;

export async function sync(configFile: string): Promise<number> {
  const log = createLogger();
  const config = loadOrExit(configFile);
  if (!config) return 2;
  const region = config.region;
  if (!region || region.peers.length === 0) {
    console.error(`cachefront sync: ${configFile} names no other region (region.id and region.peers)`);
    return 2;
  }
  const clients: RedisClient[] = [];
  const connect = async (url: string, commandTimeoutMs: number) => {
    const client = createRedisClient({ url, commandTimeoutMs });
    clients.push(client);
    await connectRedis(client);
    return client;
  };
  const local = openRedisStore({ ...config.redis, region: region.id });
  clients.push(local.client, local.reader);
  try {
    await Promise.all([connectRedis(local.client), connectRedis(local.reader)]);
    // Removals are announced to this region's edges, as the admin API's are.
    const store = new TieredStore(new MemoryStore({ maxBytes: 1024 * 1024, maxTtlMs: 1000 }), local.store);
    await store.listenForPurges(local.client);
    const peers = await Promise.all(
      region.peers.map(async (peer) => ({
        id: peer.id,
        client: await connect(peer.redis.url, peer.redis.commandTimeoutMs),
        shards: peer.redis.serviceShards,
      })),
    );
    serveMetrics(config.sync.metrics.listen, log, false);
    const limits = new Map(
      config.services.map(({ id, cache }) => [
        id,
        { maxObjects: cache.maxObjects, maxBytes: cache.maxBytes, lfuHalfLifeMs: cache.lfuHalfLifeMs },
      ]),
    );
    const worker = new SyncWorker({
      region: region.id,
      services: config.services.map((service) => service.id),
      store,
      client: local.client,
      shards: config.redis.serviceShards,
      peers,
      pollMs: config.sync.pollMs,
      batch: config.sync.batch,
      trimEveryMs: config.sync.trimEveryMs,
      prewarm: config.sync.prewarm,
      limits: (id) => limits.get(id) as ServiceLimits,
      log,
    });
    await worker.start();
    log.info({ region: region.id, peers: peers.map((p) => p.id) }, 'sync: following the peers’ journals');
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    await worker.stop();
    await store.close();
    return 0;
  } catch (error) {
    log.error({ err: error }, 'sync: could not start');
    return 1;
  } finally {
    for (const client of clients) client.disconnect();
  }
}
