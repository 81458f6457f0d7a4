/**
 * @module Hit-for-miss, in one place: a URL whose response may not be stored (private, no-store,
 * too large…) is remembered for cache.uncacheableMemoryMs — on this node, so its requests skip
 * coalescing at once, and in the store as a marker, so every node does. When the refused response
 * answered a revalidation, what is stored is outdated and must not be served again, not even stale
 * while the origin is down: it goes, on every node, before the marker is left. Refusals owed to one
 * request (an error met while revalidating, a visitor's cookie) are not the URL's and leave nothing.
 */
import { BoundedMemo } from '../bounded-memo.js';
import type { CacheStore } from '../store/types.js';
import type { RequestView } from './recv.js';
import { type FillHead, refusalIsTheUrls } from './response-decision.js';

/** This node's memory of uncacheable keys: an id and a deadline each, within a fixed budget. */
const RECENT_BYTES = 1024 * 1024;

export interface HitForMissDeps {
  store: CacheStore;
  now: () => number;
  info: (obj: object, msg: string) => void;
  warn: (obj: object, msg: string) => void;
}

export class HitForMiss {
  private readonly recent = new BoundedMemo<number>(RECENT_BYTES, () => 8);

  constructor(private readonly deps: HitForMissDeps) {}

  /** The coalescing id of a variant. */
  static id(view: RequestView, variantHash: string): string {
    return `${view.service.id}\n${variantHash}`;
  }

  /** Was this variant found uncacheable recently, on this node? */
  skipsCoalescing(id: string): boolean {
    const until = this.recent.get(id);
    if (until === undefined) return false;
    if (until > this.deps.now()) return true;
    this.recent.delete(id);
    return false;
  }

  /** The memory's bytes, against its budget. */
  get bytes(): { bytes: number; max: number } {
    return { bytes: this.recent.bytes, max: this.recent.maxBytes };
  }

  /**
   * A response for `view` turned out not to be storable. `id` is its coalescing id, when it was
   * fetched by a shared fill (a fetch made alone changes nothing in this node's memory).
   */
  record(view: RequestView, head: FillHead, id: string | undefined): void {
    if (head.decision.ok || !refusalIsTheUrls(head.decision)) return;
    const reason = head.decision.reason;
    const { store, now } = this.deps;
    const until = now() + view.service.cache.uncacheableMemoryMs;
    if (id !== undefined) this.recent.set(id, until);
    const service = view.service.id;
    const outdated = head.replacesStored ? store.invalidate(service, view.primary.hash) : Promise.resolve();
    outdated
      .then(() => store.markUncacheable(service, head.entryKey, { kind: 'uncacheable', until, reason }, now()))
      .then((written) => {
        // Logged when the marker is new: once per URL per uncacheableMemoryMs, not per request.
        if (written) this.deps.info({ service, url: view.primary.readable, reason }, 'response not stored');
      })
      .catch((error: unknown) => this.deps.warn({ err: error }, 'leaving a hit-for-miss marker failed'));
  }
}
