/**
 * @module Purges as the admin API and the sync worker make them. By URL: marked, then every variant
 * removed (or made stale). By filter: marked, then each step lists at most a batch of
 * matching entry hashes (a bounded Lua call) and purges them (another), so Redis is never held for
 * long whatever the number of entries. Each purged batch is announced to every node's L1 by the
 * store (TieredStore) before the next one starts.
 */
import type { EntryFilter } from './entry-index.js';
import type { CacheStore, JournalSource } from './types.js';

export interface BulkPurgeOptions {
  soft: boolean;
  /** Count the matches, change nothing. */
  dryRun: boolean;
  /** Entries per purge call. */
  batchSize?: number;
  now: () => number;
  /** Applying another region's purge (regions/sync-worker.ts): marked as applied from its journal. */
  from?: JournalSource;
}

export interface BulkPurgeReport {
  purged: number;
  /** Store calls made (listing steps and purges). */
  batches: number;
  /** The longest of those calls, in milliseconds, as this process timed it (round trip included). */
  longestCallMs: number;
  /** With regions: the purge's receipt (where it was applied). */
  receipt?: string;
}

const DEFAULT_BATCH = 100;

export async function purgeMatching(
  store: CacheStore,
  service: string,
  filter: EntryFilter,
  options: BulkPurgeOptions,
): Promise<BulkPurgeReport> {
  const report: BulkPurgeReport = { purged: 0, batches: 0, longestCallMs: 0 };
  const timed = async <T>(call: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await call();
    } finally {
      report.batches++;
      report.longestCallMs = Math.max(report.longestCallMs, performance.now() - started);
    }
  };
  if (!options.dryRun) {
    // Marked first: fills under way store nothing, and other regions hear of it (lua/markPurge-4.lua).
    const scope = Object.keys(filter).length === 0 ? { kind: 'all' as const } : { kind: 'filter' as const, filter };
    const receipt = await timed(() => store.markPurge(service, scope, options.soft, options.now(), options.from));
    if (receipt !== '') report.receipt = receipt;
  }
  const batch = options.batchSize ?? DEFAULT_BATCH;
  let cursor: string | undefined;
  do {
    const mode = options.dryRun ? 'count' : 'hashes';
    const page = await timed(() =>
      store.listEntries(service, { filter, cursor, limit: options.dryRun ? 10 * batch : batch, mode }, options.now()),
    );
    if (options.dryRun) report.purged += page.count;
    else if (page.hashes.length > 0) {
      const purged = await timed(() => store.purgeEntries(service, page.hashes, options.soft, options.now()));
      report.purged += purged.length;
    }
    cursor = page.cursor;
  } while (cursor !== undefined);
  report.longestCallMs = Math.round(report.longestCallMs * 100) / 100;
  // Applied here once every batch is removed: the purge's receipt for this region.
  if (report.receipt !== undefined && !options.from) await store.applied(service, report.receipt, Date.now());
  return report;
}

/**
 * Purges every variant of a URL: removed (announced to every L1 by the store), or, soft, marked
 * stale. Returns how many, and the purge's receipt ("" without regions).
 */
export async function purgeUrl(
  store: CacheStore,
  service: string,
  primary: string,
  url: string | undefined,
  soft: boolean,
  now: number,
  from?: JournalSource,
): Promise<{ purged: number; receipt: string }> {
  if (!soft) {
    const { objects, receipt } = await store.invalidate(service, primary, from);
    if (!from) await store.applied(service, receipt, Date.now());
    return { purged: objects.length, receipt };
  }
  // Marked first: a fill under way stores nothing, and other regions hear of it.
  const scope = { kind: 'url' as const, primaryKey: primary, ...(url === undefined ? {} : { url }) };
  const receipt = await store.markPurge(service, scope, true, now, from);
  const variants = await store.variantsOf(service, primary);
  const purged = (await store.purgeEntries(service, variants, true, now)).length;
  if (!from) await store.applied(service, receipt, Date.now());
  return { purged, receipt };
}
