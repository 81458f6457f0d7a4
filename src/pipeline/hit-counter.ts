/**
 * @module What each node tallies and sends to Redis about once a second, never on the request path:
 * hits per entry (added to the decaying frequency LFU eviction orders by) and each service's
 * outcome counters (hits, misses, bypasses, bytes served from cache) for the shared stats.
 */
import type { ServiceConfig } from '../config/schema.js';
import { metrics } from '../metrics/metrics.js';
import type { CacheStore } from '../store/types.js';

interface Pending {
  halfLifeMs: number;
  hits: Map<string, number>;
  /** Outcome counters for the service's shared stats (hits, misses, bypasses, bytes…). */
  counters: Map<string, number>;
  /**
   * The service's `cachefront_bytes_total{source="cache"}`, its labels hashed once per flush rather
   * than on every hit (prom-client's labelled `inc` sorts and joins them each call).
   */
  cacheBytes: { inc(value: number): void };
}

/** Beyond this many distinct entries between flushes, further ones wait for the next flush. */
const MAX_PENDING = 50_000;

export class HitCounter {
  private pending = new Map<string, Pending>();
  private size = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: CacheStore,
    private readonly now: () => number,
    private readonly onError: (error: unknown) => void,
    intervalMs = 1000,
  ) {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  private forService(service: ServiceConfig): Pending {
    let pending = this.pending.get(service.id);
    if (!pending) {
      pending = {
        halfLifeMs: service.cache.lfuHalfLifeMs,
        hits: new Map(),
        counters: new Map(),
        cacheBytes: metrics.bytes.labels({ service: service.id, source: 'cache' }),
      };
      this.pending.set(service.id, pending);
    }
    return pending;
  }

  /** Adds to one of the service's shared counters. */
  count(service: ServiceConfig, field: string, n = 1): void {
    if (field === 'bytesFromOrigin') metrics.bytes.inc({ service: service.id, source: 'origin' }, n);
    const { counters } = this.forService(service);
    counters.set(field, (counters.get(field) ?? 0) + n);
  }

  /**
   * An answer from the cache: one more for the object's frequency, and for the service's byte
   * counters and `outcome` — `hits`, or `staleServed` for a stale entry standing in for a failing
   * origin (kept apart, so the hit ratio does not rise during an outage).
   */
  hit(
    service: ServiceConfig,
    entryHash: string,
    bytes: number,
    saved?: { field: string; bytes: number },
    outcome: 'hits' | 'staleServed' = 'hits',
  ): void {
    const pending = this.forService(service);
    const { counters } = pending;
    counters.set(outcome, (counters.get(outcome) ?? 0) + 1);
    counters.set('bytesFromCache', (counters.get('bytesFromCache') ?? 0) + bytes);
    pending.cacheBytes.inc(bytes);
    // Bytes a compressed or optimised representation spared the client (and the operator's bill).
    if (saved && saved.bytes > 0) {
      counters.set(saved.field, (counters.get(saved.field) ?? 0) + saved.bytes);
      const kind = saved.field === 'bytesSavedByImages' ? 'images' : 'compression';
      metrics.saved.inc({ service: service.id, kind }, saved.bytes);
    }
    this.record(pending, entryHash);
  }

  private record(forService: Pending, entryHash: string): void {
    const count = forService.hits.get(entryHash);
    if (count !== undefined) forService.hits.set(entryHash, count + 1);
    else if (this.size < MAX_PENDING) {
      forService.hits.set(entryHash, 1);
      this.size++;
    }
  }

  /** Sends what was counted; a failed flush loses those counts (they only order evictions). */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.size = 0;
    const now = this.now();
    await Promise.all(
      [...batch].flatMap(([service, { halfLifeMs, hits, counters }]) => [
        this.store.touch(service, hits, now, halfLifeMs).catch(this.onError),
        this.store.addStats(service, counters).catch(this.onError),
      ]),
    );
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
