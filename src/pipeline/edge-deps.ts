/**
 * @module What the request pipeline is given: every collaborator with I/O or state, built once by
 * buildEdge. The pipeline calls them; none of them calls back into app.ts.
 */
import type { ServerResponse } from 'node:http';
import { OriginDown } from '../errors.js';
import type { OriginClients } from '../origin/client.js';
import type { Gate, OriginHealth } from '../origin/health.js';
import type { CacheStore, RateLimitStore } from '../store/types.js';
import type { Coalescer } from './coalesce.js';
import { deliverError } from './deliver.js';
import type { HitCounter } from './hit-counter.js';
import type { VaryMemo } from './lookup.js';
import type { QuotaGauge } from './quota.js';
import type { RecvDeps, RequestView } from './recv.js';
import type { BackgroundRefresh } from './refresh.js';

export interface EdgeDeps extends RecvDeps {
  store: CacheStore;
  origin: OriginClients;
  coalescer: Coalescer;
  varyMemo: VaryMemo;
  now: () => number;
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /** Request bodies larger than this are refused with 413 (edge.maxBodyBytes). */
  maxBodyBytes?: number;
  /** Shared request counters for services with a rate limit. */
  rateLimits?: RateLimitStore;
  /** Counts hits for LFU eviction. */
  hits?: HitCounter;
  /** Services' byte quotas: a miss past one is refused or passed through (pipeline/quota.ts). */
  quota?: QuotaGauge;
  /** The origins' circuit breakers; without it every request may go to the origin. */
  health?: OriginHealth;
  /** stale-while-revalidate's background refreshes; without it stale entries are revalidated inline. */
  refresh?: BackgroundRefresh;
}

const ALWAYS: Gate = { allowed: true, probe: false };

/** May this request go to the origin (its circuit closed, or this request the probe)? */
export function originGate(view: RequestView, deps: EdgeDeps): Promise<Gate> | Gate {
  // A fetched URL's upstream is not the service's origin: its circuit does not gate it.
  return deps.health && !view.upstream ? deps.health.gate(view.service) : ALWAYS;
}

/** 503 while the origin's circuit is open and nothing stored may answer instead. */
export function deliverOriginDown(
  res: ServerResponse,
  view: RequestView,
  retryAfterMs: number,
  key: string | undefined,
): void {
  const seconds = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  res.setHeader('retry-after', seconds);
  deliverError(res, OriginDown(view.service.id, seconds), {
    xCacheStatus: 'Miss',
    cacheStatus: { detail: 'origin-circuit-open' },
    key,
  });
}
