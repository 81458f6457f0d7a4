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
import type { TestOrigin } from './origin.js';

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
export const PREWARM: PrewarmSettings = {
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

export interface RegionsSetup {
  prewarm?: Partial<PrewarmSettings>;
  /** The edges' L1 (default on, a minute long: only purge announcements make it forget in time). */
  l1?: boolean;
  /** Settings of the shared service (merged over the defaults), in every region. */
  service?: Record<string, unknown>;
}

export async function startRegions(
  ids: readonly string[],
  originUrl: string,
  setup: RegionsSetup = {},
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
      l1: setup.l1 ?? true,
      ...(setup.service ? { service: setup.service } : {}),
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
          prewarm: { ...PREWARM, ...setup.prewarm },
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

/**
 * An origin whose pages carry a version, raised before each purge (as a deploy would). With
 * `slowMs`, each answer takes up to that long after its version was read: fills are then under
 * way while purges happen, carrying the version they read.
 */
export function versionedOrigin(origin: TestOrigin, slowMs = 0) {
  const versions = new Map<string, number>();
  let turn = 0;
  origin.handle(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    const version = versions.get(path) ?? 1;
    if (slowMs > 0) await new Promise((resolve) => setTimeout(resolve, (turn++ * 7) % slowMs));
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600' });
    res.end(`${path} v${version}`);
  });
  return {
    /** The next version of `path`: what the origin answers from now on. */
    bump(path: string): number {
      const next = (versions.get(path) ?? 1) + 1;
      versions.set(path, next);
      return next;
    },
    version: (path: string) => versions.get(path) ?? 1,
  };
}

/**
 * Resurrections: a region answering, to a request sent after it had applied a purge, with a
 * version that purge retired. Purges are noted with when each region applied them (their
 * receipts), answers with when their request was sent; the verdict comes at the end.
 */
export class ResurrectionLedger {
  private readonly retired: { region: string; path: string; below: number; at: number }[] = [];
  private readonly answers: { region: string; path: string; version: number; sentAt: number }[] = [];

  /** `region` applied, at `at` (ms), a purge that retired every version of `path` below `below`. */
  applied(region: string, path: string, below: number, at: number): void {
    this.retired.push({ region, path, below, at });
  }

  /** `region` answered `text` ("<path> v<n>") to a request sent at `sentAt`. */
  answered(region: string, path: string, text: string, sentAt: number): void {
    this.answers.push({ region, path, version: Number(/ v(\d+)$/.exec(text)?.[1]), sentAt });
  }

  get answerCount(): number {
    return this.answers.length;
  }

  resurrections(): string[] {
    const found: string[] = [];
    for (const answer of this.answers) {
      for (const purge of this.retired) {
        if (purge.region !== answer.region || purge.path !== answer.path || purge.at > answer.sentAt) continue;
        if (answer.version < purge.below) {
          found.push(
            `${answer.region} served ${answer.path} v${answer.version} after applying the purge of v<${purge.below}`,
          );
        }
      }
    }
    return found;
  }
}

/** Asks `region` for `path`, noting the answer in the ledger; returns its text. */
export async function ask(ledger: ResurrectionLedger, region: TestRegion, path: string): Promise<string> {
  const sentAt = Date.now();
  const answer = await region.edge.get(path);
  ledger.answered(region.id, path, answer.text, sentAt);
  return answer.text;
}

/** Where a purge stands, per its receipt, as the region that made it reports. */
export async function receiptOf(region: TestRegion, receipt: string) {
  return (await region.admin.call('GET', `/v1/services/${region.edge.service}/purges/${receipt}`)).json as {
    complete: boolean;
    regions: Record<string, string | null>;
  };
}
