/**
 * vitest fixtures: `redis` (one real redis-server per worker), `origin` (a real HTTP origin per
 * test), and `edge` (an edge in front of that origin, on a fresh service id so tests never see
 * each other's data, listening on a free port).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import pino from 'pino';
import { test as base } from 'vitest';
import { buildEdge, type EdgeApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { Resolve } from '../../src/fetch/destination.js';
import { connectRedis, createRedisClient, type RedisClient } from '../../src/redis/connect.js';
import { ServiceRegistry } from '../../src/services/registry.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { openRedisStore } from '../../src/store/open-redis-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { TieredStore } from '../../src/store/tiered-store.js';
import type { CacheStore } from '../../src/store/types.js';
import { TlsContexts } from '../../src/tls/contexts.js';
import { makeCert, testCa } from './certs.js';
import { h2Client } from './h2.js';
import { type SendOptions, type Sent, send } from './http.js';
import { startOrigin, type TestOrigin } from './origin.js';
import { startTestRedis, type TestRedis } from './redis.js';

export interface TestEdge {
  url: string;
  /** The HTTPS listener (https://127.0.0.1:port), when the configuration has edge.tls. */
  tlsUrl: string | undefined;
  /** Its certificates, to refresh after changing them. */
  tls: TlsContexts | undefined;
  app: EdgeApp;
  config: Config;
  service: string;
  host: string;
  store: CacheStore;
  redis: RedisClient;
  /** Sends a request with this service's Host unless headers say otherwise. */
  get(path: string, options?: SendOptions): Promise<Sent>;
  close(): Promise<void>;
}

export interface EdgeSetup {
  /** Extra service settings (merged over the defaults). */
  service?: Record<string, unknown>;
  /** Extra top-level config. */
  config?: Record<string, unknown>;
  /** Without the L1, every lookup goes to Redis (for counting commands). */
  l1?: boolean;
  now?: () => number;
  /** Collects the edge's log lines (JSON objects) here. */
  logLines?: Record<string, unknown>[];
  /** The logger's level when logLines is given (default info). */
  logLevel?: 'info' | 'debug';
  /** Reuse a service id (a second edge node for the same service). */
  serviceId?: string;
  hitFlushMs?: number;
  /** How often a recurring warning may be logged (default 10 s). */
  warnIntervalMs?: number;
  /** L1 lifetime (default 1 s). */
  l1TtlMs?: number;
  /**
   * Redis clients as `cachefront serve` makes them (no offline queue, bounded read and command
   * timeouts, reconnecting for ever), for tests of Redis outages.
   */
  productionRedis?: { readTimeoutMs: number; readTimeoutMaxMs?: number; commandTimeoutMs: number };
  /** Key spaces per service in Redis (redis.serviceShards). */
  serviceShards?: number;
  /**
   * How `get` reaches the edge: HTTP/1.1 on the plain listener, or HTTP/2 over TLS (a certificate
   * for the service's host from the test CA). Default: CACHEFRONT_TEST_TRANSPORT, else h1 — the
   * "h2" test project runs the HTTP caching tests again over HTTP/2.
   */
  transport?: 'h1' | 'h2';
  /** How fetch-by-URL resolves names (a resolver the test controls). */
  resolve?: Resolve;
}

/** The transport the HTTP caching tests run over in this test project. */
export const TRANSPORT: 'h1' | 'h2' = process.env.CACHEFRONT_TEST_TRANSPORT === 'h2' ? 'h2' : 'h1';

export function newServiceId(): string {
  return `svc-${randomUUID().slice(0, 8)}`;
}

export async function startEdge(redisUrl: string, originUrl: string, setup: EdgeSetup = {}): Promise<TestEdge> {
  const service = setup.serviceId ?? newServiceId();
  const host = `${service}.test`;
  const { origin: originOverride, ...serviceRest } = (setup.service ?? {}) as { origin?: Record<string, unknown> };
  const h2 = (setup.transport ?? TRANSPORT) === 'h2';
  const certificate = h2 ? makeCert([host]) : undefined;
  const config = parseConfig(
    {
      services: [
        {
          id: service,
          hosts: [host],
          origin: { url: originUrl, ...originOverride },
          ...serviceRest,
          ...(certificate ? { tls: { certificate: { cert: certificate.certFile, key: certificate.keyFile } } } : {}),
        },
      ],
      ...setup.config,
      ...(certificate
        ? { edge: { ...(setup.config?.edge as object), tls: { listen: { host: '127.0.0.1', port: 0 } } } }
        : {}),
    },
    'test',
    {},
  );
  let redis: RedisClient;
  let shared: RedisStore;
  let reader: RedisClient | undefined;
  if (setup.productionRedis) {
    const opened = openRedisStore({
      url: redisUrl,
      readTimeoutMaxMs: setup.productionRedis.readTimeoutMs,
      ...setup.productionRedis,
      region: config.region?.id ?? '',
    });
    redis = opened.client;
    reader = opened.reader;
    await Promise.all([connectRedis(redis), connectRedis(reader)]);
    shared = opened.store;
  } else {
    // A cluster target gets ioredis' Cluster client, as `cachefront serve` makes it.
    redis = redisUrl.startsWith('redis+cluster://')
      ? createRedisClient({ url: redisUrl, commandTimeoutMs: 5000 })
      : new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    await connectRedis(redis);
    shared = new RedisStore(redis, false, redis, undefined, setup.serviceShards ?? 1, config.region?.id ?? '');
  }
  let store: CacheStore = shared;
  if (setup.l1 !== false) {
    const l1 = new MemoryStore({ maxBytes: 8 * 1024 * 1024, maxTtlMs: setup.l1TtlMs ?? 1000 });
    const tiered = new TieredStore(l1, shared);
    await tiered.listenForPurges(redis);
    store = tiered;
  }
  const lines = setup.logLines;
  const logger = lines
    ? pino(
        { level: setup.logLevel ?? 'info' },
        { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
      )
    : undefined;
  let tls: TlsContexts | undefined;
  if (config.edge.tls) {
    const registry = ServiceRegistry.fromConfig(config);
    tls = new TlsContexts({
      settings: config.edge.tls,
      serviceFor: (name) => registry.resolve(name),
      log: { info: () => undefined, error: () => undefined },
    });
    tls.rotateTicketKeys(randomBytes(48));
    await tls.refresh(config.services);
  }
  const app = buildEdge({
    config,
    store,
    ...(tls ? { tls } : {}),
    ...(setup.now ? { now: setup.now } : {}),
    ...(logger ? { logger } : {}),
    ...(setup.hitFlushMs ? { hitFlushMs: setup.hitFlushMs } : {}),
    ...(setup.warnIntervalMs ? { warnIntervalMs: setup.warnIntervalMs } : {}),
    ...(setup.resolve ? { resolve: setup.resolve } : {}),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const tlsUrl = app.tlsServer ? await app.listenTls({ host: '127.0.0.1', port: 0 }) : undefined;
  const client = certificate && tlsUrl ? h2Client(tlsUrl, { ca: testCa().cert, servername: host }) : undefined;
  return {
    url,
    tlsUrl,
    tls,
    app,
    config,
    service,
    host,
    store,
    redis,
    get: (path, options = {}) =>
      (client ? client.send : (o: SendOptions) => send(url, o))({
        ...options,
        path,
        headers: { host, ...options.headers },
      }),
    close: async () => {
      await client?.close();
      await app.close();
      if (store instanceof TieredStore) await store.close(); // its purge subscription
      await redis.quit().catch(() => redis.disconnect());
      if (reader) await reader.quit().catch(() => reader?.disconnect());
    },
  };
}

export const test = base.extend<{
  $test: { origin: TestOrigin; edge: TestEdge };
  $worker: { redis: TestRedis };
}>({
  redis: [
    // biome-ignore lint/correctness/noEmptyPattern: vitest reads the fixture's dependencies from this pattern
    async ({}, use) => {
      const redis = await startTestRedis();
      try {
        await use(redis);
      } finally {
        await redis.stop();
      }
    },
    { scope: 'worker' },
  ],
  // biome-ignore lint/correctness/noEmptyPattern: as above
  origin: async ({}, use) => {
    const origin = await startOrigin();
    try {
      await use(origin);
    } finally {
      await origin.close();
    }
  },
  edge: async ({ redis, origin }, use) => {
    const edge = await startEdge(redis.url, origin.url);
    try {
      await use(edge);
    } finally {
      await edge.close();
    }
  },
});
