/**
 * @module One edge worker of `cachefront serve`: connects to the store its primary resolved, runs the
 * edge and admin listeners, and drains them on SIGTERM/SIGINT. Kept apart from serve.ts so the
 * primary, which only forks and aggregates metrics, never loads the edge's modules (~30 MiB each).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { buildAdmin } from '../admin/server.js';
import { buildEdge } from '../app.js';
import type { LiveConfig } from '../config/live-config.js';
import type { Config } from '../config/schema.js';
import type { EdgeTlsConfig } from '../config/tls.js';
import { connectRedis } from '../redis/connect.js';
import { MemoryServiceCatalog, RedisServiceCatalog, type ServiceCatalog } from '../services/catalog.js';
import { CatalogWatcher, nodeName, staleAfter } from '../services/catalog-watcher.js';
import { ServiceRegistry } from '../services/registry.js';
import { MemoryStore } from '../store/memory-store.js';
import { openRedisStore } from '../store/open-redis-store.js';
import { TieredStore } from '../store/tiered-store.js';
import type { CacheStore } from '../store/types.js';
import { CertificateRefresh } from '../tls/certificate-refresh.js';
import { type CertificateStore, MemoryCertificateStore, RedisCertificateStore } from '../tls/certificate-store.js';
import { TlsContexts } from '../tls/contexts.js';
import { IpcImageSink } from './image-worker.js';
import { EMBEDDED } from './store-target.js';
import type { WorkerContext } from './worker-config.js';
import { messageOfType, REMOTE_IMAGES_ENV, TICKET_KEYS, TICKET_KEYS_ENV } from './worker-roles.js';

function createStore(
  target: string,
  config: Config,
): {
  store: CacheStore;
  ready: () => Promise<boolean>;
  start: () => Promise<void>;
  catalog: ServiceCatalog;
  certificates: CertificateStore;
} {
  if (target === EMBEDDED) {
    const store = new MemoryStore({ maxBytes: 256 * 1024 * 1024 });
    return {
      store,
      ready: async () => true,
      start: async () => undefined,
      catalog: new MemoryServiceCatalog(),
      certificates: new MemoryCertificateStore(),
    };
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
    catalog: new RedisServiceCatalog(client),
    certificates: new RedisCertificateStore(client),
  };
}

export async function runWorker(context: WorkerContext, target: string, log: Logger): Promise<number> {
  const { live } = context;
  const config = live.current;
  const { store, ready, start, catalog, certificates } = createStore(target, config);
  if (target !== EMBEDDED && !(await ready().catch(() => false))) {
    log.error({ redis: target }, 'Redis did not answer');
    await store.close();
    return 1;
  }
  await start();
  // With an image worker on the node, images go there: this process never loads sharp.
  const images = process.env[REMOTE_IMAGES_ENV] ? new IpcImageSink() : undefined;
  const tls = config.edge.tls ? await startCertificates(live, certificates, log) : undefined;
  const edge = buildEdge({
    config,
    store,
    logger: log,
    ...(images ? { images } : {}),
    ...(tls ? { tls: tls.contexts } : {}),
  });
  tls?.follow(() => edge.certificatesChanged());
  const watcher = config.catalog.enabled
    ? new CatalogWatcher({ catalog, live, node: nodeName(), checkEveryMs: config.catalog.checkEveryMs, log })
    : undefined;
  const admin = buildAdmin({
    config: () => live.current,
    store,
    storeReady: ready,
    storeKind: target === EMBEDDED ? 'embedded' : 'redis',
    logger: log,
    reload: context.reload,
    ...(watcher ? { catalog: { store: catalog, live, freshMs: staleAfter(config) } } : {}),
    ...(tls ? { certificates: { store: certificates, served: () => tls.contexts.list() } } : {}),
  });
  live.onChange((next) => {
    edge.reconfigure(next);
    // Hosts and certificate files may have changed with the services.
    void tls?.refresh.now();
    // The fleet learns at once what this process runs (the catalog's waiters, GET /v1/config).
    void watcher?.report().catch(() => undefined);
  });
  // The catalog's services before the first request: a node never starts without them.
  await watcher?.start();
  context.ready();
  await edge.listen({ host: config.edge.listen.host, port: config.edge.listen.port });
  if (config.edge.tls) await edge.listenTls(config.edge.tls.listen);
  await admin.listen({ host: config.admin.listen.host, port: config.admin.listen.port });
  log.info(
    {
      edge: `${config.edge.listen.host}:${config.edge.listen.port}`,
      ...(config.edge.tls ? { tls: `${config.edge.tls.listen.host}:${config.edge.tls.listen.port}` } : {}),
      admin: `${config.admin.listen.host}:${config.admin.listen.port}`,
      services: live.current.services.length,
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
      }, live.current.edge.shutdownGraceMs);
      await Promise.allSettled([edge.close(), admin.close(), watcher?.close(), tls?.refresh.stop()]);
      clearTimeout(force);
      await store.close();
      resolve(0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
  });
}

/**
 * The process's certificates: loaded once before the listener opens (failures logged, naming the
 * service and the file), then checked every edge.tls.checkEveryMs and after each configuration
 * change; the session ticket keys are the node's (from the primary, rotated by it), or this
 * process's own when it runs alone.
 */
async function startCertificates(live: LiveConfig, stored: CertificateStore, log: Logger) {
  const settings = live.current.edge.tls as EdgeTlsConfig;
  let registry = { for: live.current, services: ServiceRegistry.fromConfig(live.current) };
  const contexts = new TlsContexts({
    settings,
    serviceFor: (host) => {
      if (registry.for !== live.current)
        registry = { for: live.current, services: ServiceRegistry.fromConfig(live.current) };
      return registry.services.resolve(host);
    },
    stored,
    log,
  });
  const fromPrimary = process.env[TICKET_KEYS_ENV];
  contexts.rotateTicketKeys(fromPrimary ? Buffer.from(fromPrimary, 'hex') : randomBytes(48));
  await contexts.refresh(live.current.services);
  let changed: () => void = () => undefined;
  const refresh = new CertificateRefresh(
    contexts,
    () => live.current.services,
    () => changed(),
    (error) => log.error({ err: error }, 'checking the certificates failed'),
  );
  refresh.start(settings.checkEveryMs);
  const rotate = (keys: Buffer) => {
    contexts.rotateTicketKeys(keys);
    void refresh.now();
  };
  if (fromPrimary) {
    process.on('message', (message: unknown) => {
      const keys = messageOfType<{ type: typeof TICKET_KEYS; keys: string }>(message, TICKET_KEYS);
      if (keys) rotate(Buffer.from(keys.keys, 'hex'));
    });
  } else {
    setInterval(() => rotate(randomBytes(48)), settings.ticketKeyRotateMs).unref();
  }
  return {
    contexts,
    refresh,
    follow: (onChanged: () => void) => {
      changed = onChanged;
    },
  };
}
