/**
 * @module Redis connections as the edge wants them: bounded command time, no auto-pipelining
 * (measured slower here), and a readiness check before the edge starts answering.
 */
import { Redis } from 'ioredis';

export interface RedisSettings {
  url: string;
  commandTimeoutMs: number;
}

export function createRedisClient(settings: RedisSettings): Redis {
  return new Redis(settings.url, {
    commandTimeout: settings.commandTimeoutMs,
    maxRetriesPerRequest: 1,
    enableAutoPipelining: false,
    lazyConnect: true,
  });
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
