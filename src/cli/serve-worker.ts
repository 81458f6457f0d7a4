/**
 * @module One edge worker of `cachefront serve`: connects to the store its primary resolved, runs the
 * edge and admin listeners, and drains them on SIGTERM/SIGINT. Kept apart from serve.ts so the
 * primary, which only forks and aggregates metrics, never loads the edge's modules (~30 MiB each).
 */
import type { Logger } from 'pino';
import { buildAdmin } from '../admin/server.js';
import { buildEdge } from '../app.js';
import type { Config } from '../config/schema.js';
import { connectRedis } from '../redis/connect.js';
import { MemoryStore } from '../store/memory-store.js';
import { openRedisStore } from '../store/open-redis-store.js';
import { TieredStore } from '../store/tiered-store.js';
import type { CacheStore } from '../store/types.js';
import { IpcImageSink } from './image-worker.js';
import { EMBEDDED } from './store-target.js';
import { REMOTE_IMAGES_ENV } from './worker-roles.js';

function createStore(
  target: string,
  config: Config,
): { store: CacheStore; ready: () => Promise<boolean>; start: () => Promise<void> } {
  if (target === EMBEDDED) {
    const store = new MemoryStore({ maxBytes: 256 * 1024 * 1024 });
    return { store, ready: async () => true, start: async () => undefined };
  }
  // Two connections: the request path's reads with a short timeout, everything else with a longer one.
  const {
    store: shared,
    client,
    reader,
  } = openRedisStore({
    ...config.redis,
    url: target,
    region: config.region?.id ?? '',
  });
  const l1 = new MemoryStore({
    maxBytes: config.l1.maxBytes,
    maxTtlMs: config.l1.ttlMs,
    maxEntryBytes: config.l1.maxEntryBytes,
  });
  const store = new TieredStore(l1, shared);
  return {
    store,
    ready: async () => {
      await Promise.all([connectRedis(client), connectRedis(reader)]);
      return (await client.ping()) === 'PONG';
    },
    start: () => store.listenForPurges(client),
  };
}

export async function runWorker(config: Config, target: string, log: Logger): Promise<number> {
  const { store, ready, start } = createStore(target, config);
  if (target !== EMBEDDED && !(await ready().catch(() => false))) {
    log.error({ redis: target }, 'Redis did not answer');
    await store.close();
    return 1;
  }
  await start();
  // With an image worker on the node, images go there: this process never loads sharp.
  const images = process.env[REMOTE_IMAGES_ENV] ? new IpcImageSink() : undefined;
  const edge = buildEdge({ config, store, logger: log, ...(images ? { images } : {}) });
  const admin = buildAdmin({
    config,
    store,
    storeReady: ready,
    storeKind: target === EMBEDDED ? 'embedded' : 'redis',
    logger: log,
  });
  await edge.listen({ host: config.edge.listen.host, port: config.edge.listen.port });
  await admin.listen({ host: config.admin.listen.host, port: config.admin.listen.port });
  log.info(
    {
      edge: `${config.edge.listen.host}:${config.edge.listen.port}`,
      admin: `${config.admin.listen.host}:${config.admin.listen.port}`,
    },
    'edge listening',
  );
  return new Promise((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping: finishing in-flight requests');
      // Bounded drain: a stuck client connection must not hold the process forever.
      const force = setTimeout(() => {
        edge.server.closeAllConnections();
      }, config.edge.shutdownGraceMs);
      await Promise.allSettled([edge.close(), admin.close()]);
      clearTimeout(force);
      await store.close();
      resolve(0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
  });
}
