/**
 * @module How a Redis listing walks its index: the bounded steps, the cursor it hands back (the
 * index, its range, the key space and the last member seen; refused unless this store wrote it),
 * and the filter as lua/scanEntries-1.lua reads it.
 */
import { BadCursor } from '../errors.js';
import { type EntryFilter, globToLuaPattern } from './entry-index.js';

/** Index members one scanEntries call looks at: bounds how long it holds Redis (a few milliseconds at most, measured by bench/admin.ts). */
export const SCAN_BUDGET = 200;
/** A listing returns what it found by then, with a cursor, rather than keep a caller waiting. */
export const LIST_TIME_BUDGET_MS = 250;

/** Which index a listing walks, and the lex range of it. */
export interface ScanPlan {
  k: string;
  lo: string;
  hi: string;
}

const INDEX_NAME = /^idx:(path|tag:.+)$/;
const LEX_BOUND = /^([[(].*|-|\+)$/s;

/** Where a listing stopped: the index, its range, the space (0 when the service has one) and the last member seen. */
type Cursor = ScanPlan & { s: number; after: string };

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

/** A cursor this store wrote; anything else is refused (it names keys, always inside the service). */
export function decodeCursor(token: string): Cursor | undefined {
  try {
    const value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Record<string, unknown>;
    const { k, lo, hi, after } = value;
    const s = value.s ?? 0;
    if (
      typeof k === 'string' &&
      INDEX_NAME.test(k) &&
      typeof lo === 'string' &&
      LEX_BOUND.test(lo) &&
      typeof hi === 'string' &&
      LEX_BOUND.test(hi) &&
      typeof after === 'string' &&
      typeof s === 'number' &&
      Number.isInteger(s) &&
      s >= 0 &&
      // An empty `after`: the start of space s (where the previous one ended).
      (after !== '' || s > 0)
    ) {
      return { k, lo, hi, s, after };
    }
  } catch {
    // fall through
  }
  throw BadCursor();
}

/** The filter as lua/scanEntries-1.lua reads it (short names; absent conditions left out). */
export function luaFilter(filter: EntryFilter): Record<string, string | number> {
  const type = filter.contentType;
  const out: Record<string, string | number | undefined> = {
    t: type !== undefined && !type.endsWith('/*') ? type : undefined,
    tm: type?.endsWith('/*') ? type.slice(0, -2) : undefined,
    smin: filter.minSize,
    smax: filter.maxSize,
    pp: filter.pathPrefix,
    pg: filter.pathGlob === undefined ? undefined : globToLuaPattern(filter.pathGlob),
    g: filter.tag,
    s: filter.status,
    a: filter.storedAfter,
    b: filter.storedBefore,
    hmin: filter.minHits,
    hmax: filter.maxHits,
  };
  for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
  return out as Record<string, string | number>;
}
