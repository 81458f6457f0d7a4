/** Cached entries for store-level tests. */
import type { CachedEntry } from '../../src/store/types.js';

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
