/**
 * @module stale-while-revalidate's background refresh (RFC 5861 §3): the stale entry is served at
 * once and one request refreshes it — one per entry across every edge node, thanks to a short
 * lease in Redis, and one per node while that lease runs, thanks to the memory here (so a hot
 * stale entry costs Redis one lease call per node, not one per request).
 */
import type { CachedEntry, CoordinationStore } from '../store/types.js';
import type { Coalescer } from './coalesce.js';
import type { RequestView } from './recv.js';

const MAX_TRACKED = 10_000;

export class BackgroundRefresh {
  private readonly running = new Map<string, number>();

  constructor(
    private readonly coalescer: Coalescer,
    private readonly leases: CoordinationStore,
    private readonly now: () => number,
    private readonly onError: (error: unknown, view: RequestView) => void,
  ) {}

  /** Starts a refresh of a stale entry unless one is already running somewhere. Never waits. */
  refresh(view: RequestView, entryKey: string, names: readonly string[], stale: CachedEntry): void {
    const id = `${view.service.id}\n${entryKey}`;
    const now = this.now();
    if ((this.running.get(id) ?? 0) > now) return;
    // A lease as long as the origin may take: a refresh that fails leaves the next try to then.
    const leaseMs = view.service.origin.connectTimeoutMs + view.service.origin.responseTimeoutMs;
    if (this.running.size >= MAX_TRACKED) this.running.clear();
    this.running.set(id, now + leaseMs);
    void this.run(view, entryKey, names, stale, leaseMs).catch((error: unknown) => this.onError(error, view));
  }

  private async run(
    view: RequestView,
    entryKey: string,
    names: readonly string[],
    stale: CachedEntry,
    leaseMs: number,
  ): Promise<void> {
    // Redis unreachable: refresh from this node (the memory above keeps it to one per node).
    const leased = await this.leases.acquireLease(view.service.id, `refresh:${entryKey}`, leaseMs).catch(() => true);
    if (!leased) return;
    // The refresh is for the shared entry, not for the visitor whose request found it stale: it
    // carries no cookie unless the entry varies on it (else a logged-in visitor's refresh could
    // never be stored: cache.requestCookies).
    const shared = stale.meta.varyNames.includes('cookie') ? view : withoutCookie(view);
    // A head-only waiter: the fill keeps the body for the store; nothing is read here.
    await this.coalescer.join({ view: shared, headOnly: true }, entryKey, names, { stale });
  }
}

function withoutCookie(view: RequestView): RequestView {
  if (view.headers.cookie === undefined) return view;
  const { cookie: _cookie, ...headers } = view.headers;
  return { ...view, headers };
}
