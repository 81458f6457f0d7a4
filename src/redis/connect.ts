/**
 * @module Redis connections as the edge wants them: bounded command time, no offline queue (while
 * Redis is unreachable a command fails at once instead of waiting for a reconnection), automatic
 * reconnection, no auto-pipelining (measured slower here), and a readiness check.
 */
import { Redis } from 'ioredis';

export interface RedisSettings {
  url: string;
  commandTimeoutMs: number;
}

export function createRedisClient(settings: RedisSettings): Redis {
  const client = new Redis(settings.url, {
    commandTimeout: settings.commandTimeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    enableAutoPipelining: false,
    lazyConnect: true,
    // Reconnect for ever, never more than a second apart: the edge serves without Redis meanwhile.
    retryStrategy: (times) => Math.min(50 * times, 1000),
  });
  // Connection errors are reported by the calls that fail; without a listener ioredis logs each.
  client.on('error', () => undefined);
  return client;
}

/** Connects a client made by createRedisClient (commands fail until it is connected). */
export async function connectRedis(client: Redis): Promise<void> {
  if (client.status === 'wait') await client.connect();
}

/** True when a Redis answers PING at `url` within `timeoutMs`. */
export async function redisReachable(url: string, timeoutMs = 1000): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
