/**
 * The Redis a test file talks to: a redis-server of its own on a free loopback port (one per vitest
 * worker), REDIS_URL when set, or a testcontainers Redis where a Docker engine is reachable and no
 * redis-server is installed. Tests never share data: each uses fresh service ids.
 */
import { Redis } from 'ioredis';
import { findRedisServer, INSTALL_HINT, startLocalRedis } from '../../src/redis/local-server.js';

export interface TestRedis {
  url: string;
  /** Only for servers this harness started: FLUSHALL and CONFIG are then allowed. */
  owned: boolean;
  client(): Redis;
  stop(): Promise<void>;
}

async function containerRedis(): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
  } catch {
    return undefined;
  }
  const { RedisContainer } = await import('@testcontainers/redis');
  const container = await new RedisContainer('redis:7').start();
  return { url: container.getConnectionUrl(), stop: async () => void (await container.stop()) };
}

export async function startTestRedis(args: string[] = []): Promise<TestRedis> {
  const clients: Redis[] = [];
  const client = (url: string) => () => {
    const c = new Redis(url, { maxRetriesPerRequest: 1 });
    clients.push(c);
    return c;
  };
  const closeClients = async () => {
    await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
  };
  if (process.env.REDIS_URL && args.length === 0) {
    const url = process.env.REDIS_URL;
    return { url, owned: false, client: client(url), stop: closeClients };
  }
  if (findRedisServer()) {
    const server = await startLocalRedis({ args });
    return {
      url: server.url,
      owned: true,
      client: client(server.url),
      stop: async () => {
        await closeClients();
        await server.stop();
      },
    };
  }
  const container = await containerRedis();
  if (container) {
    return {
      url: container.url,
      owned: true,
      client: client(container.url),
      stop: async () => {
        await closeClients();
        await container.stop();
      },
    };
  }
  throw new Error(`No Redis for the tests. ${INSTALL_HINT}`);
}
