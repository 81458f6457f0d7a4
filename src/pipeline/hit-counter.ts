/**
 * @module Hits counted on this node (L1 and Redis hits alike) and added to each entry's decaying
 * frequency about once a second, in one script call per service — so LFU eviction knows what is
 * hot without a Redis write on the hit path.
 */
import type { ServiceConfig } from '../config/schema.js';
import type { CacheStore } from '../store/types.js';

interface Pending {
  halfLifeMs: number;
  hits: Map<string, number>;
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

  record(service: ServiceConfig, entryHash: string): void {
    let forService = this.pending.get(service.id);
    if (!forService) {
      forService = { halfLifeMs: service.cache.lfuHalfLifeMs, hits: new Map() };
      this.pending.set(service.id, forService);
    }
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
      [...batch].map(([service, { halfLifeMs, hits }]) =>
        this.store.touch(service, hits, now, halfLifeMs).catch(this.onError),
      ),
    );
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
