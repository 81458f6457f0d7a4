/**
 * @module What the fleet shares besides the cache, over Redis: rate-limit counters (a sliding
 * window, lua/rateLimit-2.lua), short leases (one background refresh, one origin probe across every
 * node), and the origin's health (lua/originHealth-1.lua).
 */
import type { RedisClient } from '../redis/connect.js';
import { leaseKey, originHealthKey, rateLimitKey } from './keys.js';
import { timed } from './redis-timing.js';
import { runScript } from './scripts.js';
import type { CoordinationStore, OriginHealthState, RateDecision, RateLimitStore } from './types.js';

export class RedisCoordination implements RateLimitStore, CoordinationStore {
  constructor(private readonly client: RedisClient) {}

  async hit(service: string, client: string, limit: number, windowMs: number, now: number): Promise<RateDecision> {
    const window = Math.floor(now / windowMs);
    const [allowed, retryAfterMs] = (await timed(
      'rate_limit',
      runScript(
        this.client,
        'rateLimit',
        [rateLimitKey(service, client, window), rateLimitKey(service, client, window - 1)],
        [limit, windowMs, now - window * windowMs],
      ),
    )) as [number, number];
    return { allowed: allowed === 1, retryAfterMs };
  }

  async acquireLease(service: string, name: string, ttlMs: number): Promise<boolean> {
    const set = this.client.set(leaseKey(service, name), '1', 'PX', Math.max(1, Math.round(ttlMs)), 'NX');
    return (await timed('lease', set)) === 'OK';
  }

  private async originHealth(service: string, op: 'fail' | 'ok' | 'read', args: number[]): Promise<OriginHealthState> {
    const [failures, openUntil] = (await runScript(
      this.client,
      'originHealth',
      [originHealthKey(service)],
      [op, ...args],
    )) as [number, number];
    return { failures, openUntil };
  }

  originFailed(service: string, threshold: number, cooldownMs: number, now: number): Promise<OriginHealthState> {
    return this.originHealth(service, 'fail', [now, threshold, cooldownMs]);
  }

  async originSucceeded(service: string): Promise<void> {
    await this.originHealth(service, 'ok', [0, 0, 0]);
  }

  originState(service: string): Promise<OriginHealthState> {
    return this.originHealth(service, 'read', [0, 0, 0]);
  }
}
