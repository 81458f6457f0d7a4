/**
 * @module What to do with what the lookup found, before the origin is asked anything: one pure
 * decision (RFC 9111 §4, RFC 5861), no I/O. The driver (edge-handler) carries it out.
 *
 *   nothing usable stored ─────────────────────────────► miss (fetch, coalesced)
 *   hit-for-miss marker ───────────────────────────────► miss, alone (no queueing)
 *   fresh, or stale and the client accepts it ─────────► fresh (deliver)
 *   stale within stale-while-revalidate ───────────────► serve-stale-and-refresh
 *   stale, or the client asks for validation ──────────► revalidate, with the deadline until which
 *                                                         the stale entry may answer for a failing origin
 *   any of the last three, and only-if-cached ─────────► not-cached (504, the origin is never asked)
 */
import type { Directives } from '../policy/cache-control.js';
import { evaluateUse } from '../policy/evaluate.js';
import { type StaleSettings, storedStaleWindows } from '../policy/stale.js';
import type { EntryMeta } from '../store/types.js';

export type StoredDecision =
  | { kind: 'fresh' }
  | { kind: 'serve-stale-and-refresh' }
  | {
      kind: 'revalidate';
      /** Why (RFC 9211 fwd=): the entry is stale, or the client asked for validation. */
      reason: 'stale' | 'request';
      /** Until when the stored entry may answer instead of a failing origin (0: it may not). */
      staleIfErrorUntil: number;
    }
  | { kind: 'miss'; alone: boolean }
  | { kind: 'not-cached' };

export interface StoredInput {
  /** The stored entry's times and headers; undefined when nothing usable is stored. */
  meta:
    | Pick<EntryMeta, 'responseTime' | 'initialAgeSeconds' | 'staleAt' | 'deleteAt' | 'headers' | 'staleOverride'>
    | undefined;
  /** A hit-for-miss marker was found instead of an entry. */
  uncacheable?: boolean;
  directives: Directives;
  now: number;
  stale: StaleSettings;
  /** Stale-while-revalidate needs somewhere to refresh in the background. */
  backgroundRefresh: boolean;
}

export function decideStored(input: StoredInput): StoredDecision {
  const { meta, directives, now } = input;
  const onlyIfCached = directives.has('only-if-cached');
  if (meta === undefined) return onlyIfCached ? NOT_CACHED : input.uncacheable ? MISS_ALONE : MISS;
  const use = evaluateUse(meta, directives, now);
  if (use.kind !== 'validate') return FRESH;
  // §5.2.1.7: only-if-cached never goes to the origin.
  if (onlyIfCached) return NOT_CACHED;
  const windows = storedStaleWindows(meta.headers, input.stale, meta.staleOverride);
  // RFC 5861 §3: within stale-while-revalidate, answer now; one background request refreshes it.
  if (use.reason === 'stale' && input.backgroundRefresh && now < meta.staleAt + windows.whileRevalidateMs) {
    return SERVE_STALE_AND_REFRESH;
  }
  // RFC 5861 §4 stale-if-error (or the service's grace), never past the entry's own deletion.
  const until = Math.min(meta.staleAt + windows.ifErrorMs, meta.deleteAt);
  return { kind: 'revalidate', reason: use.reason, staleIfErrorUntil: now < until ? until : 0 };
}

const FRESH: StoredDecision = { kind: 'fresh' };
const SERVE_STALE_AND_REFRESH: StoredDecision = { kind: 'serve-stale-and-refresh' };
const MISS: StoredDecision = { kind: 'miss', alone: false };
const MISS_ALONE: StoredDecision = { kind: 'miss', alone: true };
const NOT_CACHED: StoredDecision = { kind: 'not-cached' };
