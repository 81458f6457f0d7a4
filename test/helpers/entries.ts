/** Cached entries for store-level tests. */
import type { CachedEntry } from '../../src/store/types.js';

export interface EntryOptions {
  now: number;
  /** Defaults to an hour after `now`. */
  deleteAt?: number;
  varyNames?: string[];
}

export function makeEntry(
  body: string | Buffer,
  { now, deleteAt = now + 3_600_000, varyNames = [] }: EntryOptions,
): CachedEntry {
  return {
    kind: 'entry',
    meta: {
      status: 200,
      headers: [['content-type', 'text/plain']],
      responseTime: now,
      storedAt: now,
      initialAgeSeconds: 0,
      staleAt: deleteAt,
      deleteAt,
      varyNames,
      url: 'GET http://x/',
    },
    body: typeof body === 'string' ? Buffer.from(body) : body,
  };
}
