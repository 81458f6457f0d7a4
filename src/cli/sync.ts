/**
 * @module `cachefront sync --config FILE`: one per region, beside its edges. It reads the other
 * regions' journals from their Redis and applies their purges here (regions/sync-worker.ts), and
 * serves its metrics on sync.metrics.listen. It follows the services a reload (SIGHUP) or the
 * service catalog adds or removes.
 */

import { LiveConfig } from '../config/live-config.js';
import { connectRedis, createRedisClient, type RedisClient } from '../redis/connect.js';
import { type ServiceLimits, SyncWorker } from '../regions/sync-worker.js';
import { RedisServiceCatalog } from '../services/catalog.js';
import { CatalogWatcher, nodeName } from '../services/catalog-watcher.js';
import { MemoryStore } from '../store/memory-store.js';
import { openRedisStore } from '../store/open-redis-store.js';
import { TieredStore } from '../store/tiered-store.js';
import { createLogger, loadTextOrExit, serveMetrics } from './serve.js';
import { reloadLocally } from './worker-config.js';

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
  const loaded = loadTextOrExit(configFile);
  if (!loaded) return 2;
  const live = new LiveConfig(loaded.text, configFile);
  const config = live.current;
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
    const limits = (id: string): ServiceLimits => {
      const cache = live.current.services.find((service) => service.id === id)?.cache;
      return cache
        ? { maxObjects: cache.maxObjects, maxBytes: cache.maxBytes, lfuHalfLifeMs: cache.lfuHalfLifeMs }
        : { maxObjects: 0, maxBytes: 0, lfuHalfLifeMs: 0 };
    };
    const start = async (services: string[]) => {
      const worker = new SyncWorker({
        region: region.id,
        services,
        store,
        client: local.client,
        shards: config.redis.serviceShards,
        peers,
        pollMs: config.sync.pollMs,
        batch: config.sync.batch,
        trimEveryMs: config.sync.trimEveryMs,
        prewarm: config.sync.prewarm,
        limits,
        log,
      });
      await worker.start();
      return worker;
    };
    const ids = () => live.current.services.map((service) => service.id).sort();
    let following = ids();
    let worker = await start(following);
    // Services added or removed (a reload, the catalog): the journals followed change with them.
    // The positions are the peers' consumer groups, so a new worker resumes where the last stopped.
    let restarting = Promise.resolve();
    live.onChange(() => {
      restarting = restarting.then(async () => {
        const next = ids();
        if (next.join() === following.join()) return;
        await worker.stop();
        following = next;
        worker = await start(next);
        log.info({ services: next.length }, 'sync: following the journals of the services now configured');
      });
    });
    const watcher = config.catalog.enabled
      ? new CatalogWatcher({
          catalog: new RedisServiceCatalog(local.client),
          live,
          node: `sync@${nodeName()}`,
          checkEveryMs: config.catalog.checkEveryMs,
          log,
        })
      : undefined;
    await watcher?.start();
    process.on('SIGHUP', () => reloadLocally(configFile, live, log));
    log.info({ region: region.id, peers: peers.map((p) => p.id) }, 'sync: following the peers’ journals');
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    await watcher?.close();
    await restarting;
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
