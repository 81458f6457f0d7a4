/**
 * Regions for tests: each its own redis-server (started here), an edge node and an admin listener
 * for one shared service, and a sync worker following the other regions — all on loopback, all
 * real. A region's worker and its Redis can be stopped and started again.
 */
import pino from 'pino';
import { connectRedis, createRedisClient, type RedisClient } from '../../src/redis/connect.js';
import { type LocalRedis, startLocalRedis } from '../../src/redis/local-server.js';
import { type PrewarmSettings, SyncWorker } from '../../src/regions/sync-worker.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { TieredStore } from '../../src/store/tiered-store.js';
import { OPERATOR_TOKEN, startAdmin, type TestAdmin } from './admin.js';
import { newServiceId, startEdge, type TestEdge } from './fixtures.js';

export interface TestRegion {
  id: string;
  redis: LocalRedis;
  edge: TestEdge;
  admin: TestAdmin;
  worker: SyncWorker | undefined;
  /** A sync worker that follows nothing by itself (tests hand it journal entries). */
  makeWorker(): Promise<SyncWorker>;
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  /** SIGKILLs this region's redis-server and starts an empty one on the same port. */
  restartRedisEmpty(): Promise<void>;
}

export interface TestRegions {
  service: string;
  regions: TestRegion[];
  close(): Promise<void>;
}

/** Pre-warming as the tests want it by default: every fill, at once. */
const PREWARM: PrewarmSettings = {
  enabled: true,
  services: [],
  objects: 'all',
  minHits: 0,
  waitMs: 0,
  maxAgeMs: 3_600_000,
  concurrency: 8,
  perSecond: 10_000,
  maxQueued: 10_000,
};

export async function startRegions(
  ids: readonly string[],
  originUrl: string,
  prewarm: Partial<PrewarmSettings> = {},
): Promise<TestRegions> {
  const service = newServiceId();
  const servers = new Map<string, LocalRedis>();
  for (const id of ids) servers.set(id, await startLocalRedis());
  const regions: TestRegion[] = [];
  for (const id of ids) {
    const peers = ids
      .filter((other) => other !== id)
      .map((other) => ({ id: other, redis: { url: (servers.get(other) as LocalRedis).url } }));
    const redis = servers.get(id) as LocalRedis;
    const edge = await startEdge(redis.url, originUrl, {
      serviceId: service,
      config: { region: { id, peers }, admin: { tokens: { operator: [OPERATOR_TOKEN] } } },
      l1TtlMs: 60_000,
    });
    const admin = await startAdmin(edge);
    let clients: RedisClient[] = [];
    let store: TieredStore | undefined;
    const region: TestRegion = {
      id,
      redis,
      edge,
      admin,
      worker: undefined,
      async startWorker() {
        await (await region.makeWorker()).start();
      },
      async makeWorker() {
        const connect = async (url: string) => {
          const client = createRedisClient({ url, commandTimeoutMs: 2000 });
          clients.push(client);
          await connectRedis(client);
          return client;
        };
        const local = await connect(region.redis.url);
        store = new TieredStore(
          new MemoryStore({ maxBytes: 1024 * 1024, maxTtlMs: 1000 }),
          new RedisStore(local, false, local, undefined, 1, id),
        );
        await store.listenForPurges(local);
        const worker = new SyncWorker({
          region: id,
          services: [service],
          store,
          client: local,
          shards: 1,
          peers: await Promise.all(
            peers.map(async (peer) => ({
              id: peer.id,
              client: await connect((servers.get(peer.id) as LocalRedis).url),
              shards: 1,
            })),
          ),
          pollMs: 10,
          batch: 100,
          trimEveryMs: 200,
          prewarm: { ...PREWARM, ...prewarm },
          limits: () => ({ maxObjects: 50_000, maxBytes: 0, lfuHalfLifeMs: 86_400_000 }),
          log: pino({ level: 'silent' }),
        });
        region.worker = worker;
        return worker;
      },
      async stopWorker() {
        await region.worker?.stop();
        region.worker = undefined;
        await store?.close();
        for (const client of clients) client.disconnect();
        clients = [];
      },
      async restartRedisEmpty() {
        const port = region.redis.port;
        region.redis.process.kill('SIGKILL');
        await region.redis.stop().catch(() => undefined);
        region.redis = await startLocalRedis({ port });
        servers.set(id, region.redis);
      },
    };
    regions.push(region);
  }
  for (const region of regions) await region.startWorker();
  return {
    service,
    regions,
    close: async () => {
      for (const region of regions) {
        await region.stopWorker();
        await region.admin.close();
        await region.edge.close();
        await region.redis.stop();
      }
    },
  };
}
