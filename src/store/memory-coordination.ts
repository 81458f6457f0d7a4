/**
 * @module Rate limits, leases and origins' health for one node: the embedded store's, and a tiered
 * store's fallback while Redis cannot be reached (the same contract as store/redis-coordination.ts).
 */
import type { OriginHealthState, RateDecision } from './types.js';

export class MemoryCoordination {
  private counters = new Map<string, number>();

  /** Rate limits: the same two-window estimate as lua/rateLimit-2.lua, for the embedded store's single node. */
  async hit(service: string, client: string, limit: number, windowMs: number, now: number): Promise<RateDecision> {
    const window = Math.floor(now / windowMs);
    const id = (w: number) => `${service}\n${client}\n${w}`;
    if (this.counters.size > 100_000) this.counters = new Map(); // bounded; a reset only forgives
    const current = this.counters.get(id(window)) ?? 0;
    const previous = this.counters.get(id(window - 1)) ?? 0;
    const elapsed = now - window * windowMs;
    const estimate = (previous * (windowMs - elapsed)) / windowMs + current;
    if (estimate + 1 > limit) {
      let wait = windowMs - elapsed;
      if (previous > 0) wait = Math.min(wait, Math.ceil(((estimate + 1 - limit) / previous) * windowMs));
      return { allowed: false, retryAfterMs: Math.max(1, wait) };
    }
    this.counters.set(id(window), current + 1);
    this.counters.delete(id(window - 2));
    return { allowed: true, retryAfterMs: 0 };
  }

  private readonly leases = new Map<string, number>();
  private readonly health = new Map<string, OriginHealthState>();

  async acquireLease(service: string, name: string, ttlMs: number): Promise<boolean> {
    const id = `${service}\n${name}`;
    const now = Date.now();
    if ((this.leases.get(id) ?? 0) > now) return false;
    if (this.leases.size > 10_000) this.leases.clear();
    this.leases.set(id, now + ttlMs);
    return true;
  }

  async originFailed(service: string, threshold: number, cooldownMs: number, now: number): Promise<OriginHealthState> {
    const state = this.health.get(service) ?? { failures: 0, openUntil: 0 };
    state.failures++;
    if (state.failures >= threshold && state.openUntil <= now) state.openUntil = now + cooldownMs;
    this.health.set(service, state);
    return { ...state };
  }

  async originSucceeded(service: string): Promise<void> {
    this.health.delete(service);
  }

  async originState(service: string): Promise<OriginHealthState> {
    return { ...(this.health.get(service) ?? { failures: 0, openUntil: 0 }) };
  }

  /** Drops one record (used when a newer write makes it wrong). */
}
