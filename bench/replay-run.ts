/**
 * Replays a traffic sample through a real edge (in this process, over HTTP, against a real Redis
 * and a real origin) and counts what it answered from cache. Requests go one at a time, and after
 * each one the edge is let finish storing, so the hit ratio measures the cache's decisions (key,
 * policy, what one fill can serve), not how two requests happened to race.
 */
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildEdge } from '../src/app.js';
import { parseConfig } from '../src/config/load.js';
import { connectRedis } from '../src/redis/connect.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { openRedisStore } from '../src/store/open-redis-store.js';
import { TieredStore } from '../src/store/tiered-store.js';
import { type Replay, replayOrigin } from './replay-traffic.js';

export interface ReplayResult {
  requests: number;
  hits: number;
  hitRatio: number;
  originRequests: number;
}

function get(port: number, path: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.headers['x-cache-status'] ?? '')));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export async function runReplay(
  replay: Replay,
  redisUrl: string,
  service: Record<string, unknown>,
  id = `replay-${Math.floor(Math.random() * 1e9)}`,
): Promise<ReplayResult> {
  let originRequests = 0;
  const handler = replayOrigin(replay);
  const origin = createServer((req, res) => {
    originRequests++;
    handler(req, res);
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  const host = `${id}.test`;
  const config = parseConfig(
    { services: [{ id, hosts: [host], origin: { url: originUrl }, ...service }], edge: { accessLog: false } },
    'replay',
    {},
  );
  const { store: shared, client, reader } = openRedisStore({ ...config.redis, url: redisUrl });
  await Promise.all([connectRedis(client), connectRedis(reader)]);
  const store = new TieredStore(new MemoryStore({ maxBytes: 64 * 1024 * 1024, maxTtlMs: 1000 }), shared);
  const app = buildEdge({ config, store });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  let hits = 0;
  try {
    for (const { path, headers } of replay.requests) {
      const status = await get(port, path, { ...headers, host });
      if (status === 'Hit') hits++;
      else {
        while (app.background.fills() > 0 || app.background.images.pending > 0) {
          await new Promise((r) => setImmediate(r));
        }
      }
    }
  } finally {
    await app.close();
    await store.close();
    await new Promise((resolve) => origin.close(resolve));
  }
  const requests = replay.requests.length;
  return { requests, hits, hitRatio: hits / requests, originRequests };
}
