/**
 * @module The cache store in process memory, bounded in bytes with least-recently-used eviction.
 * It is both the per-node L1 in front of Redis (short `maxTtlMs`) and the embedded store a single
 * node runs on when no redis-server can be had. Same contract as the Redis store.
 */
import { BadCursor } from '../errors.js';
import { expand, globToRegExp, type ListPage, type ListQuery, matches, summarise } from './entry-index.js';
import type {
  CachedEntry,
  CachedRecord,
  CacheStore,
  CoordinationStore,
  EntryWrite,
  OriginHealthState,
  RateDecision,
  RateLimitStore,
  UncacheableMarker,
} from './types.js';

export interface MemoryStoreOptions {
  maxBytes: number;
  /** Records are kept at most this long, whatever their own deadline (the L1's bound on staleness). */
  maxTtlMs?: number;
  /** Larger entries are not kept. */
  maxEntryBytes?: number;
}

interface Slot {
  service: string;
  record: CachedRecord;
  /** Served until then (the L1 lifetime, or the record's own deadline in the embedded store). */
  expiresAt: number;
  /**
   * The record's own deadline. Past `expiresAt` the slot is no longer served, but kept (memory
   * permitting) for `getRetained`: while Redis cannot be reached, a node still answers from it.
   */
  retainUntil: number;
  bytes: number;
  /** When the slot last moved to the recently-used end. */
  touchedAt: number;
  /** Hits counted (listing). */
  hits: number;
}

// Moving a slot to the recently-used end costs a Map delete and insert; doing it at most once a
// second per slot keeps hot hits cheap and the order good enough for eviction.
const TOUCH_INTERVAL_MS = 1000;

interface VaryRecord {
  names: string;
  variants: Set<string>;
  expiresAt: number;
}

// Rough fixed cost of a record besides its body: metadata, headers, map slots.
const RECORD_OVERHEAD = 512;

export class MemoryStore implements CacheStore, RateLimitStore, CoordinationStore {
  private readonly slots = new Map<string, Slot>();
  /** Entries (not markers) held per service, for the object cap. */
  private readonly entriesOf = new Map<string, number>();
  private readonly vary = new Map<string, VaryRecord>();
  private bytes = 0;
  private counters = new Map<string, number>();
  private readonly maxTtlMs: number;
  private readonly maxEntryBytes: number;

  constructor(private readonly options: MemoryStoreOptions) {
    this.maxTtlMs = options.maxTtlMs ?? Number.POSITIVE_INFINITY;
    this.maxEntryBytes = options.maxEntryBytes ?? options.maxBytes;
  }

  get size(): number {
    return this.slots.size;
  }

  get usedBytes(): number {
    return this.bytes;
  }

  async get(service: string, entryHash: string, now: number): Promise<CachedRecord | undefined> {
    return this.getNow(service, entryHash, now);
  }

  /** Synchronous read, so the L1 costs no promise on a hit. */
  getNow(service: string, entryHash: string, now: number): CachedRecord | undefined {
    const id = `${service}\n${entryHash}`;
    const slot = this.slots.get(id);
    if (!slot) return undefined;
    if (slot.expiresAt <= now) {
      if (slot.retainUntil <= now) this.remove(id, slot);
      return undefined;
    }
    if (now - slot.touchedAt >= TOUCH_INTERVAL_MS) {
      // Re-insert to mark as recently used (Map keeps insertion order).
      slot.touchedAt = now;
      this.slots.delete(id);
      this.slots.set(id, slot);
    }
    return slot.record;
  }

  async getVary(service: string, primaryHash: string, now: number): Promise<string[] | undefined> {
    const id = `${service}\n${primaryHash}`;
    const record = this.vary.get(id);
    if (!record) return undefined;
    if (record.expiresAt <= now) {
      this.vary.delete(id);
      return undefined;
    }
    return record.names === '' ? [] : record.names.split(',');
  }

  async put(write: EntryWrite, now: number): Promise<void> {
    const { service, primaryKey, entryKey: entryHash, entry } = write;
    const expiresAt = Math.min(entry.meta.deleteAt, now + this.maxTtlMs);
    if (expiresAt <= now) return;
    const names = entry.meta.varyNames.join(',');
    const varyId = `${service}\n${primaryKey}`;
    const previous = this.vary.get(varyId);
    if (previous && previous.expiresAt > now && previous.names !== names) {
      for (const old of previous.variants) {
        if (old !== entryHash) this.delete(service, old);
      }
      previous.variants.clear();
    }
    const record: VaryRecord =
      previous && previous.expiresAt > now ? previous : { names, variants: new Set(), expiresAt };
    record.names = names;
    record.variants.add(entryHash);
    record.expiresAt = Math.max(record.expiresAt, expiresAt);
    this.vary.set(varyId, record);
    if (this.vary.size > 2 * this.slots.size + 1024) this.sweepVary(now);
    this.set(service, entryHash, entry, expiresAt, entry.body.length + RECORD_OVERHEAD, now, entry.meta.deleteAt);
    const evicted = this.enforceCap(service, write.maxObjects);
    if (evicted > 0) await this.addStats(service, new Map([['evictions', evicted]]));
  }

  async markUncacheable(service: string, entryHash: string, marker: UncacheableMarker, now: number): Promise<boolean> {
    if (this.getNow(service, entryHash, now)) return false;
    const expiresAt = Math.min(marker.until, now + this.maxTtlMs);
    if (expiresAt <= now) return false;
    this.set(service, entryHash, marker, expiresAt, RECORD_OVERHEAD, now, marker.until);
    return true;
  }

  async invalidate(service: string, primaryHash: string): Promise<string[]> {
    const id = `${service}\n${primaryHash}`;
    const record = this.vary.get(id);
    if (!record) return [];
    this.vary.delete(id);
    const removed = [...record.variants];
    for (const hash of removed) this.delete(service, hash);
    return removed;
  }

  /**
   * Hits are counted for the listing. The embedded store evicts least recently used entries, both
   * past its byte budget and past a service's object cap (it has no shared frequencies to use).
   */
  async touch(service: string, hits: ReadonlyMap<string, number>): Promise<void> {
    for (const [hash, n] of hits) {
      const slot = this.slots.get(`${service}\n${hash}`);
      if (slot) slot.hits += n;
    }
  }

  /**
   * The embedded store serves one node with a bounded number of entries, so a listing filters all
   * of the service's entries in process, in entry-hash order (the cursor is the last hash).
   */
  async listEntries(service: string, query: ListQuery, now: number): Promise<ListPage> {
    // The cursor is the last hash listed, base64url-encoded.
    if (query.cursor !== undefined && !/^[A-Za-z0-9_-]+$/.test(query.cursor)) throw BadCursor();
    const after = query.cursor === undefined ? undefined : Buffer.from(query.cursor, 'base64url').toString('utf8');
    const prefix = `${service}\n`;
    const glob = query.filter.pathGlob === undefined ? undefined : globToRegExp(query.filter.pathGlob);
    const found: { hash: string; slot: Slot & { record: CachedEntry } }[] = [];
    for (const [id, slot] of this.slots) {
      if (!id.startsWith(prefix) || slot.record.kind !== 'entry' || slot.expiresAt <= now) continue;
      const hash = id.slice(prefix.length);
      if (after === undefined || hash > after) found.push({ hash, slot: slot as Slot & { record: CachedEntry } });
    }
    found.sort((a, b) => (a.hash < b.hash ? -1 : 1));
    const page: ListPage = { items: [], hashes: [], count: 0, scanned: 0, healed: 0 };
    const summaryOf = (hash: string, slot: Slot & { record: CachedEntry }) =>
      summarise({ service, primaryKey: '', entryKey: hash, entry: slot.record, maxObjects: 0, lfuHalfLifeMs: 0 });
    let last: string | undefined;
    for (const { hash, slot } of found) {
      page.scanned++;
      const stored = summaryOf(hash, slot);
      if (!matches(stored, slot.hits, query.filter, glob)) continue;
      if (page.count === query.limit) {
        // One more match exists: the page continues after the last one returned.
        page.cursor = Buffer.from(last as string).toString('base64url');
        break;
      }
      page.count++;
      last = hash;
      if (query.mode === 'items') page.items.push(expand(hash, stored, slot.hits));
      else if (query.mode === 'hashes') page.hashes.push(hash);
    }
    return page;
  }

  async purgeEntries(service: string, hashes: readonly string[], soft: boolean, now: number): Promise<string[]> {
    const purged: string[] = [];
    for (const hash of hashes) {
      const id = `${service}\n${hash}`;
      const slot = this.slots.get(id);
      if (slot?.record.kind !== 'entry' || slot.expiresAt <= now) continue;
      purged.push(hash);
      if (!soft) this.remove(id, slot);
      else if (slot.record.meta.staleAt > now) {
        // A new record object: readers holding the old one keep a consistent view.
        slot.record = { ...slot.record, meta: { ...slot.record.meta, staleAt: now } };
      }
    }
    if (purged.length > 0) await this.addStats(service, new Map([['purges', purged.length]]));
    return purged;
  }

  private readonly stats = new Map<string, Map<string, number>>();

  async addStats(service: string, counters: ReadonlyMap<string, number>): Promise<void> {
    let mine = this.stats.get(service);
    if (!mine) {
      mine = new Map();
      this.stats.set(service, mine);
    }
    for (const [field, n] of counters) mine.set(field, (mine.get(field) ?? 0) + n);
  }

  async readStats(service: string): Promise<Record<string, number>> {
    let entries = 0;
    let bytesStored = 0;
    const prefix = `${service}\n`;
    for (const [id, slot] of this.slots) {
      if (!id.startsWith(prefix) || slot.record.kind !== 'entry') continue;
      entries++;
      bytesStored += slot.record.body.length;
    }
    return { entries, bytesStored, ...Object.fromEntries(this.stats.get(service) ?? []) };
  }

  /** The same two-window estimate as lua/rateLimit-2.lua, for the embedded store's single node. */
  async hit(service: string, client: string, limit: number, windowMs: number, now: number): Promise<RateDecision> {
    const window = Math.floor(now / windowMs);
    const id = (w: number) => `${service}\n${client}\n${w}`;
    if (this.counters.size > 100_000) this.counters = new Map(); // bounded; a reset only forgives
    const current = this.counters.get(id(window)) ?? 0;
    const previous = this.counters.get(id(window - 1)) ?? 0;
    const elapsed = now - window * windowMs;
    const estimate = (previous * (windowMs - elapsed)) / windowMs + current;
    if (estimate + 1 > limit) {
      let wait = windowMs - elapsed;
      if (previous > 0) wait = Math.min(wait, Math.ceil(((estimate + 1 - limit) / previous) * windowMs));
      return { allowed: false, retryAfterMs: Math.max(1, wait) };
    }
    this.counters.set(id(window), current + 1);
    this.counters.delete(id(window - 2));
    return { allowed: true, retryAfterMs: 0 };
  }

  async variantsOf(service: string, primaryHash: string): Promise<string[]> {
    return [...(this.vary.get(`${service}\n${primaryHash}`)?.variants ?? [])];
  }

  /**
   * A record kept past the L1 lifetime but not past its own deadline: what a node may still serve
   * while the shared store cannot be reached (never otherwise: a purge or a newer write may have
   * replaced it there).
   */
  getRetained(service: string, entryHash: string, now: number): CachedRecord | undefined {
    const slot = this.slots.get(`${service}\n${entryHash}`);
    return slot && slot.retainUntil > now ? slot.record : undefined;
  }

  private readonly leases = new Map<string, number>();
  private readonly health = new Map<string, OriginHealthState>();

  /** Leases and origin health for one node: the embedded store's, and a tiered store's fallback. */
  async acquireLease(service: string, name: string, ttlMs: number): Promise<boolean> {
    const id = `${service}\n${name}`;
    const now = Date.now();
    if ((this.leases.get(id) ?? 0) > now) return false;
    if (this.leases.size > 10_000) this.leases.clear();
    this.leases.set(id, now + ttlMs);
    return true;
  }

  async originFailed(service: string, threshold: number, cooldownMs: number, now: number): Promise<OriginHealthState> {
    const state = this.health.get(service) ?? { failures: 0, openUntil: 0 };
    state.failures++;
    if (state.failures >= threshold && state.openUntil <= now) state.openUntil = now + cooldownMs;
    this.health.set(service, state);
    return { ...state };
  }

  async originSucceeded(service: string): Promise<void> {
    this.health.delete(service);
  }

  async originState(service: string): Promise<OriginHealthState> {
    return { ...(this.health.get(service) ?? { failures: 0, openUntil: 0 }) };
  }

  /** Drops one record (used when a purge or a newer write makes it wrong). */
  delete(service: string, entryHash: string): void {
    const id = `${service}\n${entryHash}`;
    const slot = this.slots.get(id);
    if (slot) this.remove(id, slot);
  }

  /** Keeps a record fetched from the backing store (the L1 fill), without touching Vary bookkeeping. */
  remember(service: string, entryHash: string, record: CachedRecord, now: number): void {
    const deadline = record.kind === 'entry' ? record.meta.deleteAt : record.until;
    const expiresAt = Math.min(deadline, now + this.maxTtlMs);
    const bytes = (record.kind === 'entry' ? record.body.length : 0) + RECORD_OVERHEAD;
    if (expiresAt > now) this.set(service, entryHash, record, expiresAt, bytes, now, deadline);
  }

  async close(): Promise<void> {
    this.slots.clear();
    this.entriesOf.clear();
    this.vary.clear();
    this.bytes = 0;
  }

  private set(
    service: string,
    entryHash: string,
    record: CachedRecord,
    expiresAt: number,
    bytes: number,
    now: number,
    retainUntil: number,
  ): void {
    if (bytes > this.maxEntryBytes || bytes > this.options.maxBytes) return;
    const id = `${service}\n${entryHash}`;
    const old = this.slots.get(id);
    if (old) this.remove(id, old);
    this.slots.set(id, { service, record, expiresAt, retainUntil, bytes, touchedAt: now, hits: old?.hits ?? 0 });
    this.bytes += bytes;
    if (record.kind === 'entry') this.entriesOf.set(service, (this.entriesOf.get(service) ?? 0) + 1);
    // Evict least recently used until within budget; the first key in a Map is the oldest.
    while (this.bytes > this.options.maxBytes) {
      const oldest = this.slots.entries().next().value;
      if (!oldest) break;
      this.remove(oldest[0], oldest[1]);
    }
  }

  /** Vary records outlive nothing they describe: drop expired ones and those with no variant left. */
  private sweepVary(now: number): void {
    for (const [id, record] of this.vary) {
      const service = id.slice(0, id.indexOf('\n'));
      const alive = [...record.variants].some((hash) => this.slots.has(`${service}\n${hash}`));
      if (record.expiresAt <= now || !alive) this.vary.delete(id);
    }
  }

  private remove(id: string, slot: Slot): void {
    this.slots.delete(id);
    this.bytes -= slot.bytes;
    if (slot.record.kind === 'entry') this.entriesOf.set(slot.service, (this.entriesOf.get(slot.service) ?? 1) - 1);
  }

  /**
   * The service's object cap, least recently used first (the embedded store has no hit frequencies
   * shared with other nodes to order by). Returns how many entries left.
   */
  private enforceCap(service: string, maxObjects: number): number {
    let excess = (this.entriesOf.get(service) ?? 0) - maxObjects;
    let evicted = 0;
    if (excess <= 0) return 0;
    for (const [id, slot] of this.slots) {
      if (excess <= 0) break;
      if (slot.service !== service || slot.record.kind !== 'entry') continue;
      this.remove(id, slot);
      excess--;
      evicted++;
    }
    return evicted;
  }
}
