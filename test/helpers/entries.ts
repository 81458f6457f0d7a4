/** Cached entries for store-level tests. */
import type { EntryFilter } from '../../src/store/entry-index.js';
import type { RedisStore } from '../../src/store/redis-store.js';
import { singleObject } from '../../src/store/single-object.js';
import type { CachedEntry, CacheStore } from '../../src/store/types.js';

export interface EntryOptions {
  now: number;
  /** Defaults to an hour after `now`. */
  deleteAt?: number;
  varyNames?: string[];
  /** Defaults to `content-type: text/plain`. */
  headers?: [string, string][];
  status?: number;
  path?: string;
  tags?: string[];
  variant?: [string, string | null][];
  /** Fresh until; defaults to deleteAt. */
  staleAt?: number;
}

export function makeEntry(
  body: string | Buffer,
  {
    now,
    deleteAt = now + 3_600_000,
    varyNames = [],
    headers = [['content-type', 'text/plain']],
    status = 200,
    path = '/',
    tags = [],
    variant = [],
    staleAt = deleteAt,
  }: EntryOptions,
): CachedEntry {
  return {
    kind: 'entry',
    meta: {
      status,
      headers,
      responseTime: now,
      storedAt: now,
      initialAgeSeconds: 0,
      staleAt,
      deleteAt,
      varyNames,
      url: `GET http://x${path}`,
      path,
      tags,
      variant,
    },
    body: typeof body === 'string' ? Buffer.from(body) : body,
  };
}

/** Every path a listing returns, page by page (`limit` per page), following its cursors. */
export async function listedPaths(store: CacheStore, service: string, filter: EntryFilter, limit: number) {
  const paths: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listEntries(service, { filter, limit, mode: 'items', cursor }, Date.now());
    paths.push(...page.items.map((item) => item.path));
    cursor = page.cursor;
  } while (cursor);
  return paths.sort();
}

/** The hashes of every object a tag names (one page: tests hold fewer than 1,000). */
export async function taggedHashes(store: CacheStore, service: string, tag: string): Promise<string[]> {
  return (await store.listEntries(service, { filter: { tag }, limit: 1000, mode: 'hashes' }, Date.now())).hashes;
}

/** Stores one page per key (`page <key>` at `/<key>`) directly, as a region's edge would. */
export async function storePages(
  store: RedisStore,
  service: string,
  keys: readonly string[],
  now: number,
): Promise<void> {
  for (const key of keys) {
    await store.put(
      singleObject({
        service,
        primaryKey: key,
        entryKey: key,
        entry: makeEntry(`page ${key}`, { now, path: `/${key}` }),
        maxObjects: 1000,
        lfuHalfLifeMs: 86_400_000,
      }),
      now,
    );
  }
}
