/**
 * @module What the admin API knows about a stored entry without reading its body: a small summary
 * written next to the entry (in Redis, `idx:info`) and the filters listing and purging apply to it.
 * The Redis store evaluates filters in Lua (lua/includes/entryIndex.lua) and the embedded store
 * here; the store contract suite holds both to the same answers.
 */
import { createHash } from 'node:crypto';
import type { CachedEntry, EntryWrite } from './types.js';

/** One stored representation of an object, as listed. */
export interface RepresentationSummary {
  /** Its coding (identity, gzip, br…) or, for an image, its format (avif, webp, jpeg…). */
  name: string;
  size: number;
}

/** One object (an origin response and its representations) as the admin API lists it. */
export interface EntrySummary {
  /** The object's id: what purging by hash takes. */
  hash: string;
  /** Readable primary key (method, scheme, host, path and query). */
  url: string;
  /** Normalised path and query, as listed and filtered on (`/a/b?x=1`). */
  path: string;
  /** The request header values this variant was stored for (Vary), by normalised name. */
  variant: [string, string | null][];
  /** Media type without parameters, lower-case ("" when the origin sent none). */
  contentType: string;
  status: number;
  /** Body bytes stored, over every representation (bytes shared by several buckets counted once). */
  size: number;
  /** Body bytes per representation (coding or image format). */
  sizes: Record<string, number>;
  representations: RepresentationSummary[];
  tags: string[];
  storedAt: number;
  staleAt: number;
  deleteAt: number;
  hits: number;
}

/**
 * The summary as stored, with short field names (it is kept for every entry). Field order is fixed:
 * lua/purgeEntries-1.lua rewrites `fa` in place for a soft purge.
 */
export interface StoredSummary {
  /** primary (URL) hash */
  p: string;
  /** Every entry key of the object (representations and aliases): they leave together. */
  k: string[];
  u: string;
  pa: string;
  v: [string, string | null][];
  t: string;
  s: number;
  b: number;
  e: Record<string, number>;
  g: string[];
  at: number;
  fa: number;
  da: number;
  /** A chunked body's chunks (store/types.ts ChunkManifest): they leave with the object. */
  c?: { id: string; n: number };
}

/** Filters of the listing and of a purge; every given condition must hold. */
export interface EntryFilter {
  /** `image/png`, or `image/*` for every image type. */
  contentType?: string;
  minSize?: number;
  maxSize?: number;
  /** The path and query start with this. */
  pathPrefix?: string;
  /** The path and query match this glob: `*` any run of characters (`/` too), `?` one character. */
  pathGlob?: string;
  tag?: string;
  status?: number;
  /** Stored at or after / strictly before, in milliseconds. */
  storedAfter?: number;
  storedBefore?: number;
  minHits?: number;
  maxHits?: number;
}

export const MAX_TAGS = 64;
export const MAX_TAG_BYTES = 128;

/** Media type without parameters, lower-case. */
export function mediaType(value: string | undefined): string {
  if (!value) return '';
  const type = (value.split(';')[0] ?? '').trim().toLowerCase();
  return /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(type) ? type : '';
}

/**
 * Tags from the origin's tagging headers (`Surrogate-Key` separates with spaces, `Cache-Tag` with
 * commas; both are accepted in either). Tags with control characters or over MAX_TAG_BYTES are
 * dropped, and at most MAX_TAGS are kept, so one response cannot bloat the index.
 */
export function parseTags(values: readonly string[]): string[] {
  const tags = new Set<string>();
  for (const value of values) {
    for (const tag of value.split(/[\s,]+/)) {
      if (tag === '' || Buffer.byteLength(tag) > MAX_TAG_BYTES || /[\u0000-\u001f\u007f]/.test(tag)) continue;
      tags.add(tag);
      if (tags.size === MAX_TAGS) return [...tags];
    }
  }
  return [...tags];
}

/** The first value of a stored header (stored names are lower-case). */
export function storedHeader(headers: readonly [string, string][], name: string): string | undefined {
  for (const [n, v] of headers) if (n === name) return v;
  return undefined;
}

/** The name a representation is listed under: its image format, else its content-coding. */
export function representationName(meta: CachedEntry['meta']): string {
  if (meta.imageFormat !== undefined) return meta.imageFormat;
  if (meta.varyNames.includes('accept;image')) return 'original';
  const coding = (storedHeader(meta.headers, 'content-encoding') ?? '').trim().toLowerCase();
  return coding === '' ? 'identity' : coding;
}

/** The summary stored for an object write (its first representation speaks for the object). */
export function summarise(write: EntryWrite): StoredSummary {
  const entries = write.representations.filter((r): r is { key: string; entry: CachedEntry } => 'entry' in r);
  const first = entries[0];
  if (!first) throw new Error('an object needs at least one representation with bytes');
  const { meta } = first.entry;
  const sizes: Record<string, number> = {};
  let bytes = 0;
  for (const { entry } of entries) {
    const length = entry.meta.chunks?.bytes ?? entry.body.length;
    sizes[representationName(entry.meta)] = length;
    bytes += length;
  }
  const chunks = entries.find((r) => r.entry.meta.chunks)?.entry.meta.chunks;
  return {
    p: write.primaryKey,
    k: write.representations.map((r) => r.key),
    u: meta.url,
    pa: meta.path ?? '',
    v: (meta.variant ?? []).filter(([name]) => !REPRESENTATION_DIMENSIONS.has(name)),
    t: mediaType(storedHeader(meta.headers, 'content-type')),
    s: meta.status,
    b: bytes,
    e: sizes,
    g: meta.tags ?? [],
    at: meta.storedAt,
    fa: meta.staleAt,
    da: meta.deleteAt,
    ...(chunks ? { c: { id: chunks.id, n: chunks.count } } : {}),
  };
}

/** Vary dimensions the edge adds itself: they tell representations of one object apart. */
export const REPRESENTATION_DIMENSIONS: ReadonlySet<string> = new Set(['accept-encoding', 'accept;image']);

export function expand(hash: string, stored: StoredSummary, hits: number): EntrySummary {
  return {
    hash,
    url: stored.u,
    path: stored.pa,
    variant: stored.v,
    contentType: stored.t,
    status: stored.s,
    size: stored.b,
    sizes: stored.e,
    representations: Object.entries(stored.e).map(([name, size]) => ({ name, size })),
    tags: stored.g,
    storedAt: stored.at,
    staleAt: stored.fa,
    deleteAt: stored.da,
    hits,
  };
}

/** Glob to an anchored regular expression: `*` any run of characters, `?` exactly one. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (const ch of glob) {
    if (ch === '*') source += '[\\s\\S]*';
    else if (ch === '?') source += '[\\s\\S]';
    else source += ch.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** The same glob as an anchored Lua pattern (Lua's magic characters escaped with `%`). */
export function globToLuaPattern(glob: string): string {
  let pattern = '';
  for (const ch of glob) {
    if (ch === '*') pattern += '.*';
    else if (ch === '?') pattern += '.';
    else pattern += /[\^$()%.[\]*+\-?]/.test(ch) ? `%${ch}` : ch;
  }
  return `^${pattern}$`;
}

/** The literal part of a glob before its first wildcard: an index range narrows the scan to it. */
export function globPrefix(glob: string): string {
  const i = glob.search(/[*?]/);
  return i === -1 ? glob : glob.slice(0, i);
}

/** Does a stored summary (with its hit count) pass the filter? */
export function matches(stored: StoredSummary, hits: number, filter: EntryFilter, glob?: RegExp): boolean {
  const type = filter.contentType;
  if (type !== undefined) {
    if (type.endsWith('/*')) {
      if (!stored.t.startsWith(type.slice(0, -1))) return false;
    } else if (stored.t !== type) return false;
  }
  if (filter.minSize !== undefined && stored.b < filter.minSize) return false;
  if (filter.maxSize !== undefined && stored.b > filter.maxSize) return false;
  if (filter.pathPrefix !== undefined && !stored.pa.startsWith(filter.pathPrefix)) return false;
  if (filter.pathGlob !== undefined && !(glob ?? globToRegExp(filter.pathGlob)).test(stored.pa)) return false;
  if (filter.tag !== undefined && !stored.g.includes(filter.tag)) return false;
  if (filter.status !== undefined && stored.s !== filter.status) return false;
  if (filter.storedAfter !== undefined && stored.at < filter.storedAfter) return false;
  if (filter.storedBefore !== undefined && stored.at >= filter.storedBefore) return false;
  if (filter.minHits !== undefined && hits < filter.minHits) return false;
  if (filter.maxHits !== undefined && hits > filter.maxHits) return false;
  return true;
}

/** A short fingerprint of a filter, carried in cursors so a cursor is only used with its filter. */
export function filterFingerprint(filter: EntryFilter): string {
  const ordered = Object.entries(filter)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return createHash('sha256').update(JSON.stringify(ordered)).digest('base64url').slice(0, 12);
}

export interface ListQuery {
  filter: EntryFilter;
  /** Where the previous page ended (a store-specific token), or undefined for the first page. */
  cursor?: string | undefined;
  /** Most matches to return. */
  limit: number;
  /** Return summaries, only entry hashes (for purging), or only the count (dry runs). */
  mode: 'items' | 'hashes' | 'count';
}

export interface ListPage {
  items: EntrySummary[];
  hashes: string[];
  /** Matches on this page. */
  count: number;
  /** Where to continue; undefined when nothing is left. */
  cursor?: string | undefined;
  /** Index members looked at, and dangling ones removed on the way (entries Redis evicted). */
  scanned: number;
  healed: number;
}

/** Sortable fixed-width decimal, as lua/includes/entryIndex.lua writes it (`%015.0f`). */
export function sortable(n: number): string {
  return String(Math.max(0, Math.trunc(n))).padStart(15, '0');
}
