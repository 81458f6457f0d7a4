/**
 * @module The store contract shared by the Redis store, the in-process L1 and the embedded store.
 * test/contract/cache-store.contract.ts runs the same cases against each of them.
 */

import type { StaleOverride } from '../policy/stale.js';
import type { EntryFilter, ListPage, ListQuery } from './entry-index.js';

/** What a cached response keeps besides its body. Times are absolute milliseconds. */
export interface EntryMeta {
  status: number;
  /** Response headers as stored: no hop-by-hop fields, never Set-Cookie. */
  headers: [string, string][];
  /** When the edge received the response (RFC 9111 response_time). */
  responseTime: number;
  /** When the entry was written to the store. */
  storedAt: number;
  /** corrected_initial_age in seconds (RFC 9111 §4.2.3). */
  initialAgeSeconds: number;
  /** Fresh until this time. */
  staleAt: number;
  /** Removed from the store at this time (Redis TTL). */
  deleteAt: number;
  /** Normalised names of the request headers this response varies on. */
  varyNames: string[];
  /** Readable key, for X-Cache-Key and the admin API. */
  url: string;
  /** Normalised path and query (the admin API lists and filters on it). */
  path?: string;
  /** The request header values this variant was stored for, by normalised Vary name. */
  variant?: [string, string | null][];
  /** Tags from the origin's tagging headers (Surrogate-Key, Cache-Tag), for purging by tag. */
  tags?: string[];
  /** The operator's cache rule that forced its lifetime (Cache-Status says so on hits). */
  rule?: string;
  /** Stale windows its rule set (they replace the origin's stale-while-revalidate / stale-if-error). */
  staleOverride?: StaleOverride;
  /** A representation the edge encoded (br, gzip); absent for identity or as the origin sent it. */
  coding?: 'gzip' | 'br';
  /** The origin's ETag, when the representation carries one of its own (revalidation uses it). */
  originEtag?: string;
  /**
   * Size of the original representation: the identity bytes of a compressed one, the origin's
   * image of an optimised one (bytes saved = this − body length).
   */
  identityBytes?: number;
  /**
   * A content-coding the edge does not key on (zstd, deflate…), as the origin sent it: served only
   * to requests whose Accept-Encoding accepts it; others miss.
   */
  unknownCoding?: string;
  /** An image the edge re-encoded (webp, avif, or the original format optimised). */
  imageFormat?: string;
  /**
   * A large object stored as fixed-size chunks beside this record (store/chunks.ts): the record's
   * body is then empty and the bytes are read chunk by chunk, only those a response needs.
   */
  chunks?: ChunkManifest;
  /**
   * The object this representation belongs to (one origin response): the unit of the object cap,
   * of LFU hit counts, of listing and of purging. Absent: the entry is its own object.
   */
  object?: string;
}

/**
 * Where a chunked body is: chunks `0..count-1` of `size` bytes each (the last may be shorter) under
 * `id`, a name drawn for each stored body, so chunks of a replaced object never mix with the new.
 */
export interface ChunkManifest {
  id: string;
  size: number;
  count: number;
  /** The whole body's length. */
  bytes: number;
}

export interface CachedEntry {
  kind: 'entry';
  meta: EntryMeta;
  body: Buffer;
}

/** Hit-for-miss: "this key answered with an uncacheable response recently; don't queue for it". */
export interface UncacheableMarker {
  kind: 'uncacheable';
  until: number;
  reason: string;
}

export type CachedRecord = CachedEntry | UncacheableMarker;

/**
 * One key of an object: the bytes for the requests whose key it is, or (`aliasOf`) a pointer to
 * another key of the same object whose bytes serve them too — stored once, read with a second GET.
 */
export type Representation = { key: string; entry: CachedEntry } | { key: string; aliasOf: string };

/**
 * An object: one origin response, stored as the representations the edge serves of it (identity,
 * gzip and Brotli of a text; AVIF, WebP and the original format of an image; or just one). It counts
 * once against the object cap, is listed and purged as one, and its keys leave together.
 */
export interface EntryWrite {
  service: string;
  primaryKey: string;
  /** The object's id: its only key when it has one representation. */
  object: string;
  /** The URL's Vary names, including the edge's own dimensions (accept-encoding, accept;image). */
  varyNames: string[];
  representations: Representation[];
  /** The service's object cap and LFU half-life: the write evicts to stay within the cap. */
  maxObjects: number;
  lfuHalfLifeMs: number;
  /** Optional byte cap of the service (0: none): past it, LFU eviction as for the object cap. */
  maxBytes?: number;
  /** The purge counters the fill's lookup read: a purge since then wins, and nothing is stored. */
  guard?: PurgeGuard;
  /** An object copied from another region's store (pre-warming; docs/regions.md). */
  copy?: CopySource;
}

/** Where a copied object comes from: the fill's journal, its position, and what its region knew. */
export interface CopySource {
  field: string;
  id: string;
  known: ReadonlyMap<string, string>;
}

/**
 * The purge counters a lookup read: its URL's (bumped by purges of that URL) and its key space's
 * (bumped by every broader purge). A fill stores only while both are unchanged, so a purge always
 * wins over a fill that began before it.
 */
export interface PurgeGuard {
  url: number;
  space: number;
}

/**
 * How a put ended: stored; overtaken by a purge (nothing stored); already past its delete time; or,
 * for a copy from another region, lost to a purge it did not know of, or found already here.
 */
export type PutOutcome = 'stored' | 'overtaken' | 'expired' | 'conflict' | 'present';

/** What a purge covers, as marked (and journaled for other regions). */
export type PurgeScope =
  | { kind: 'url'; primaryKey: string; url?: string }
  | { kind: 'filter'; filter: EntryFilter }
  | { kind: 'all' };

/** A purge (or fill) another region journaled: which journal ("<region>/<space>") and where in it. */
export interface JournalSource {
  field: string;
  id: string;
}

/** A URL's invalidation: the objects removed, and the purge's receipt ("" without regions). */
export interface Invalidation {
  objects: string[];
  receipt: string;
}

/** What the lookup's read found: a record, or else the URL's stored Vary names (if any). */
export type Found =
  | { record: CachedRecord; guard?: PurgeGuard }
  | { record: undefined; vary: string[] | undefined; guard?: PurgeGuard };

/** An object as stored: what a 304 refreshes as a whole. */
export interface StoredObject {
  varyNames: string[];
  representations: Representation[];
}

export interface CacheStore {
  /**
   * The record under an entry key, an alias followed to the bytes it points at. The hit path: one
   * Redis round trip (two for an alias).
   */
  get(service: string, entryKey: string, now: number): Promise<CachedRecord | undefined>;
  /** The Vary names last stored for a primary key, when any response under it varied. */
  getVary(service: string, primaryKey: string, now: number): Promise<string[] | undefined>;
  /**
   * The lookup's read: the record under an entry key (as `get`) and, when there is none, the Vary
   * names stored for the URL's primary key (as `getVary`) — one Redis round trip for both.
   */
  find(service: string, entryKey: string, primaryKey: string, now: number): Promise<Found>;
  /**
   * What this node holds in memory under an entry key (the L1, the embedded store), read without a
   * promise so a hit is answered in the turn its request arrived. Undefined: ask `find`.
   */
  findLocal?(service: string, entryKey: string, primaryKey: string, now: number): Found | undefined;
  /**
   * Writes one chunk of a large body before its object is stored (`put` with `meta.chunks`), alive
   * for `ttlMs` unless that put adopts it: chunks of a fill that never completes go by themselves.
   * `primaryKey` places it in its URL's key space. The caller may reuse `bytes` once this resolves.
   */
  putChunk(service: string, primaryKey: string, id: string, index: number, bytes: Buffer, ttlMs: number): Promise<void>;
  /** One chunk of a stored body; undefined when it is gone (purged, evicted, expired). */
  getChunk(service: string, primaryKey: string, id: string, index: number): Promise<Buffer | undefined>;
  /** Removes chunks written for a body that will not be stored (a failed or overtaken fill). */
  dropChunks(service: string, primaryKey: string, id: string, count: number): Promise<void>;
  /**
   * A byte quota's clean-up: evicts the service's least frequently used objects (least recently
   * used in the embedded store) until it stores at most `targetBytes`. Returns how many left.
   */
  trimBytes(service: string, targetBytes: number): Promise<number>;
  /**
   * Stores an object (replacing the one stored under its id, every key of it) and records its Vary
   * names for the primary key. When the names differ from those stored before, the objects stored
   * under the old names are removed.
   */
  put(write: EntryWrite, now: number): Promise<PutOutcome>;
  /** Every representation of a stored object (aliases as aliases); undefined when it is gone. */
  getObject(service: string, object: string, now: number): Promise<StoredObject | undefined>;
  /** Leaves a hit-for-miss marker unless a record is stored under the key; true when written. */
  markUncacheable(service: string, entryKey: string, marker: UncacheableMarker, now: number): Promise<boolean>;
  /**
   * Removes every object stored under a URL (RFC 9111 §4.4 invalidation) and its Vary record,
   * marked as a purge first (markPurge). `from`: applying another region's purge.
   */
  invalidate(service: string, primaryKey: string, from?: JournalSource): Promise<Invalidation>;
  /**
   * Marks a purge before its objects are removed: fills that began before it store nothing, and
   * with regions it is journaled for the others (or, `from` given, recorded as applied from
   * theirs). Returns its receipt ("" without regions).
   */
  markPurge(service: string, scope: PurgeScope, soft: boolean, now: number, from?: JournalSource): Promise<string>;
  /** Records a purge made here as applied here, once its objects are removed (its receipt). */
  applied(service: string, receipt: string, now: number): Promise<void>;
  /**
   * Where a purge has been applied: region → when (ms), for the regions that applied every part of
   * it (a purge by filter has one per key space). Empty for an unknown or expired receipt.
   */
  receipt(service: string, receipt: string): Promise<Map<string, number>>;
  /** The object ids stored under a URL (what invalidating it would remove). */
  variantsOf(service: string, primaryKey: string): Promise<string[]>;
  /**
   * A page of the service's entries passing a filter, from its indexes (never a keyspace scan).
   * Dangling index members (entries Redis evicted or expired on its own) are skipped and removed.
   */
  listEntries(service: string, query: ListQuery, now: number): Promise<ListPage>;
  /**
   * Purges objects by id, every representation: removed, or with `soft` marked stale (revalidated
   * before use, still there as stale-if-error). Returns the ids affected; counted in `purges`.
   */
  purgeEntries(service: string, hashes: readonly string[], soft: boolean, now: number): Promise<string[]>;
  /** Adds counters tallied on this node to the service's shared stats. */
  addStats(service: string, counters: ReadonlyMap<string, number>): Promise<void>;
  /** The service's shared counters, plus `entries` (objects stored now). */
  readStats(service: string): Promise<Record<string, number>>;
  /** Adds hits counted on this node to the objects' decaying frequency (LFU eviction order). */
  touch(service: string, hits: ReadonlyMap<string, number>, now: number, lfuHalfLifeMs: number): Promise<void>;
  /**
   * Finishes the bookkeeping of what has been stored (indexes, caps), which a store may batch after
   * `put` returns; every read of the indexes does it first. For tests and benchmarks.
   */
  drain(service: string): Promise<void>;
  close(): Promise<void>;
}

export interface RateDecision {
  allowed: boolean;
  /** When not allowed: milliseconds until a request would be. */
  retryAfterMs: number;
}

/** Counts requests per client across every edge node (sliding window). */
export interface RateLimitStore {
  hit(service: string, client: string, limit: number, windowMs: number, now: number): Promise<RateDecision>;
}

/** What every edge node knows of a service's origin (the circuit breaker's shared state). */
export interface OriginHealthState {
  /** Consecutive failures seen by any node since the last success. */
  failures: number;
  /** The circuit is open until this time (ms); 0 when closed. */
  openUntil: number;
}

/** How a fleet-wide fill ended: stored (read it from the store), not stored (fetch alone), or failed. */
export type FillOutcome = 'stored' | 'not-stored' | 'failed';

/**
 * What nodes hear of a fleet-wide fill: how it ended; "flight", more of its relayed response to
 * read; "waiting", another node waits for it (its holder relays the response only then).
 */
export type FillNotice = FillOutcome | 'flight' | 'waiting';

/**
 * One origin fetch per cold object across the fleet: the first node to claim an entry's fill
 * fetches it; the others wait for its outcome (pipeline/fleet-fill.ts).
 */
export interface FillCoordination {
  /** True when this node now holds the entry's fill; false when another node does (then it is told the outcome). */
  claimFill(service: string, entryHash: string, ttlMs: number): Promise<boolean>;
  /** Keeps a held fill's lease alive while the fill runs (false: the lease was gone). */
  renewFill(service: string, entryHash: string, ttlMs: number): Promise<boolean>;
  /** Is anyone holding the entry's fill? (A waiter's check that its holder is still alive.) */
  fillHeld(service: string, entryHash: string): Promise<boolean>;
  /** Ends a fill this node held: its lease goes, and the nodes waiting hear the outcome. */
  fillDone(service: string, entryHash: string, outcome: FillOutcome): Promise<void>;
  /** Every notice any node gives of a fill (FillNotice), for the fills this node holds or waits for. */
  onFillDone(listener: (service: string, entryHash: string, outcome: FillNotice) => void): void;
  /**
   * Appends parts of the response (head, chunks, end or abort, in order) to the fill's flight. A
   * batch that starts with the head is appended only if another node waits for the fill: false
   * then, and nothing is relayed.
   */
  flightAppend(service: string, entryHash: string, parts: readonly FlightPart[]): Promise<boolean>;
  /** The flight's parts after `after` (an id returned before; undefined: from the start). */
  flightRead(
    service: string,
    entryHash: string,
    after: string | undefined,
  ): Promise<{ id: string; part: FlightPart }[]>;
}

/**
 * One part of a fill's flight: the head (JSON), a body chunk, the end, or an abort — or, once the
 * holder stores the body in chunks, how many of them have landed (the waiting nodes read those from
 * the store rather than having every byte relayed twice through Redis).
 */
export type FlightPart =
  | { kind: 'head'; json: string }
  | { kind: 'chunk'; bytes: Buffer }
  | { kind: 'chunks'; id: string; size: number; written: number }
  | { kind: 'end' }
  | { kind: 'aborted' };

/** Coordination between edge nodes: leases and the origins' health, shared through Redis. */
export interface CoordinationStore {
  /** True when this caller now holds the lease (nobody else will for `ttlMs`). */
  acquireLease(service: string, name: string, ttlMs: number): Promise<boolean>;
  /** Counts a failure; opens the circuit for `cooldownMs` at `threshold` consecutive failures. */
  originFailed(service: string, threshold: number, cooldownMs: number, now: number): Promise<OriginHealthState>;
  /** A success: the failures are forgiven and the circuit closes. */
  originSucceeded(service: string): Promise<void>;
  originState(service: string): Promise<OriginHealthState>;
}
