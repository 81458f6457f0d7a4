/**
 * @module The cache store in process memory, bounded in bytes with least-recently-used eviction.
 * It is both the per-node L1 in front of Redis (short `maxTtlMs`) and the embedded store a single
 * node runs on when no redis-server can be had. Same contract as the Redis store.
 */
import { BadCursor } from '../errors.js';
import {
  expand,
  globToRegExp,
  type ListPage,
  type ListQuery,
  matches,
  type StoredSummary,
  summarise,
} from './entry-index.js';
import { MemoryChunks } from './memory-chunks.js';
import { MemoryCoordination } from './memory-coordination.js';
import { PurgeCounters } from './purge-counters.js';
import { owned, RECORD_OVERHEAD, recordBytes } from './record-bytes.js';
import type {
  CachedEntry,
  CachedRecord,
  CacheStore,
  CoordinationStore,
  EntryWrite,
  Found,
  Invalidation,
  OriginHealthState,
  PurgeScope,
  PutOutcome,
  RateDecision,
  RateLimitStore,
  StoredObject,
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
  /** The object the record belongs to (its own key for markers and single-key objects). */
  object: string;
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
}

/** An object's keys, and, when this store holds it whole (a put), what listing needs. */
interface ObjectSlot {
  service: string;
  keys: Set<string>;
  /** key -> the key whose bytes it serves (the record is shared); made when there is one. */
  aliases?: Map<string, string>;
  /** Written by put: the object is counted, listed and capped here. Absent for L1 copies of reads. */
  summary?: StoredSummary;
  hits: number;
  /** A chunked body's chunks (in `chunks`), which leave with the object. */
  chunks?: { id: string; count: number };
}

// Moving a slot to the recently-used end costs a Map delete and insert; doing it at most once a
// second per slot keeps hot hits cheap and the order good enough for eviction.
const TOUCH_INTERVAL_MS = 1000;

interface VaryRecord {
  names: string;
  /** Object ids. */
  variants: Set<string>;
  expiresAt: number;
}

export class MemoryStore implements CacheStore, RateLimitStore, CoordinationStore {
  private readonly slots = new Map<string, Slot>();
  private readonly objects = new Map<string, ObjectSlot>();
  /** Objects held whole per service, for the object cap. */
  private readonly entriesOf = new Map<string, number>();
  private readonly vary = new Map<string, VaryRecord>();
  /** Chunks of large bodies: inside the byte budget, gone with their object. */
  private readonly chunks = new MemoryChunks();
  private bytes = 0;
  private readonly coordination = new MemoryCoordination();
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
    return this.bytes + this.chunks.bytes;
  }

  get maxBytes(): number {
    return this.options.maxBytes;
  }

  /**
   * The accounting checked against the contents: the bytes counted, the same recomputed from every
   * record held (an alias slot costs only its overhead), and the records whose body is a slice of a
   * larger allocation (which would keep more alive than counted). For tests and diagnostics.
   */
  audit(): { counted: number; recomputed: number; slices: number } {
    let recomputed = 0;
    let slices = 0;
    for (const [id, slot] of this.slots) {
      const object = this.objects.get(`${slot.service}\n${slot.object}`);
      const alias = object?.aliases?.has(id.slice(slot.service.length + 1)) ?? false;
      recomputed += alias ? RECORD_OVERHEAD : recordBytes(slot.record);
      if (slot.record.kind === 'entry' && slot.record.body.buffer.byteLength !== slot.record.body.length) slices++;
    }
    recomputed += this.chunks.recount();
    return { counted: this.usedBytes, recomputed, slices };
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

  findLocal(service: string, entryHash: string, primaryHash: string, now: number): Found | undefined {
    const record = this.getNow(service, entryHash, now);
    return record ? { record, guard: this.purges.guardOf(service, primaryHash) } : undefined;
  }

  async find(service: string, entryHash: string, primaryHash: string, now: number): Promise<Found> {
    const record = this.getNow(service, entryHash, now);
    const guard = this.purges.guardOf(service, primaryHash);
    return record
      ? { record, guard }
      : { record: undefined, vary: await this.getVary(service, primaryHash, now), guard };
  }

  /** Purge counters (PurgeGuard): a fill stores only while they read as at its lookup. */
  private readonly purges = new PurgeCounters();

  /** The embedded store serves one node of one region: no receipts. */
  async receipt(): Promise<Map<string, number>> {
    return new Map();
  }

  async applied(): Promise<void> {}

  /** The embedded store serves one node of one region: nothing is journaled. */
  async markPurge(service: string, scope: PurgeScope): Promise<string> {
    this.purges.bump(service, scope);
    return '';
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

  async put(write: EntryWrite, now: number): Promise<PutOutcome> {
    const { service, primaryKey, object } = write;
    const deleteAt = Math.max(...write.representations.map((r) => ('entry' in r ? r.entry.meta.deleteAt : 0)));
    const expiresAt = Math.min(deleteAt, now + this.maxTtlMs);
    if (expiresAt <= now) return 'expired';
    if (write.guard && !this.purges.holds(service, primaryKey, write.guard)) return 'overtaken';
    const names = write.varyNames.join(',');
    const varyId = `${service}\n${primaryKey}`;
    const previous = this.vary.get(varyId);
    if (previous && previous.expiresAt > now && previous.names !== names) {
      for (const old of previous.variants) if (old !== object) this.deleteObject(service, old);
      previous.variants.clear();
    }
    const record: VaryRecord =
      previous && previous.expiresAt > now ? previous : { names, variants: new Set(), expiresAt };
    record.names = names;
    record.variants.add(object);
    record.expiresAt = Math.max(record.expiresAt, expiresAt);
    this.vary.set(varyId, record);
    if (this.vary.size > 2 * this.objects.size + 1024) this.sweepVary(now);
    const hits = this.objects.get(`${service}\n${object}`)?.hits ?? 0;
    this.deleteObject(service, object);
    const slot = this.objectSlot(service, object);
    slot.summary = summarise(write);
    slot.hits = hits;
    if (slot.summary.c) slot.chunks = { id: slot.summary.c.id, count: slot.summary.c.n };
    this.entriesOf.set(service, (this.entriesOf.get(service) ?? 0) + 1);
    const entries = new Map<string, CachedEntry>();
    for (const representation of write.representations) {
      if ('entry' in representation) {
        const { entry } = representation;
        entries.set(representation.key, owned({ ...entry, meta: { ...entry.meta, object } }));
      }
    }
    for (const representation of write.representations) {
      const key = representation.key;
      const entry = 'entry' in representation ? entries.get(key) : entries.get(representation.aliasOf);
      if (!entry) continue;
      if ('aliasOf' in representation) {
        slot.aliases ??= new Map();
        slot.aliases.set(key, representation.aliasOf);
      }
      // An alias shares its target's record: it costs only its own slot.
      const bytes = 'entry' in representation ? recordBytes(entry) : RECORD_OVERHEAD;
      this.set(service, key, entry, object, expiresAt, bytes, now, deleteAt);
    }
    // Too large to hold (the L1's per-entry limit): nothing of it is kept.
    if (slot.keys.size === 0) this.forgetObject(`${service}\n${object}`, slot);
    const evicted = this.enforceCap(service, write.maxObjects);
    if (evicted > 0) await this.addStats(service, new Map([['evictions', evicted]]));
    return 'stored';
  }

  async getObject(service: string, object: string, now: number): Promise<StoredObject | undefined> {
    const slot = this.objects.get(`${service}\n${object}`);
    if (!slot?.summary) return undefined;
    const representations: StoredObject['representations'] = [];
    for (const key of slot.keys) {
      const alias = slot.aliases?.get(key);
      if (alias !== undefined) {
        representations.push({ key, aliasOf: alias });
        continue;
      }
      const record = this.getNow(service, key, now);
      if (record?.kind === 'entry') representations.push({ key, entry: record });
    }
    if (representations.length === 0) return undefined;
    const vary = this.vary.get(`${service}\n${slot.summary.p}`);
    return { varyNames: vary && vary.names !== '' ? vary.names.split(',') : [], representations };
  }

  async markUncacheable(service: string, entryHash: string, marker: UncacheableMarker, now: number): Promise<boolean> {
    if (this.getNow(service, entryHash, now)) return false;
    const expiresAt = Math.min(marker.until, now + this.maxTtlMs);
    if (expiresAt <= now) return false;
    this.set(service, entryHash, marker, entryHash, expiresAt, RECORD_OVERHEAD, now, marker.until);
    return true;
  }

  async invalidate(service: string, primaryHash: string): Promise<Invalidation> {
    const receipt = await this.markPurge(service, { kind: 'url', primaryKey: primaryHash });
    const id = `${service}\n${primaryHash}`;
    const record = this.vary.get(id);
    if (!record) return { objects: [], receipt };
    this.vary.delete(id);
    const removed = [...record.variants];
    for (const object of removed) this.deleteObject(service, object);
    return { objects: removed, receipt };
  }

  /**
   * Hits are counted for the listing. The embedded store evicts least recently used objects, both
   * past its byte budget and past a service's object cap (it has no shared frequencies to use).
   */
  async touch(service: string, hits: ReadonlyMap<string, number>): Promise<void> {
    for (const [object, n] of hits) {
      const slot = this.objects.get(`${service}\n${object}`);
      if (slot) slot.hits += n;
    }
  }

  /**
   * The embedded store serves one node with a bounded number of objects, so a listing filters all
   * of the service's objects in process, in object-id order (the cursor is the last id).
   */
  async listEntries(service: string, query: ListQuery, now: number): Promise<ListPage> {
    // The cursor is the last id listed, base64url-encoded.
    if (query.cursor !== undefined && !/^[A-Za-z0-9_-]+$/.test(query.cursor)) throw BadCursor();
    const after = query.cursor === undefined ? undefined : Buffer.from(query.cursor, 'base64url').toString('utf8');
    const prefix = `${service}\n`;
    const glob = query.filter.pathGlob === undefined ? undefined : globToRegExp(query.filter.pathGlob);
    const found: { hash: string; summary: StoredSummary; hits: number }[] = [];
    for (const [id, slot] of this.objects) {
      if (!id.startsWith(prefix) || !slot.summary || slot.summary.da <= now || !this.alive(slot, now)) continue;
      const hash = id.slice(prefix.length);
      if (after === undefined || hash > after) found.push({ hash, summary: slot.summary, hits: slot.hits });
    }
    found.sort((a, b) => (a.hash < b.hash ? -1 : 1));
    const page: ListPage = { items: [], hashes: [], count: 0, scanned: 0, healed: 0 };
    let last: string | undefined;
    for (const { hash, summary, hits } of found) {
      page.scanned++;
      if (!matches(summary, hits, query.filter, glob)) continue;
      if (page.count === query.limit) {
        // One more match exists: the page continues after the last one returned.
        page.cursor = Buffer.from(last as string).toString('base64url');
        break;
      }
      page.count++;
      last = hash;
      if (query.mode === 'items') page.items.push(expand(hash, summary, hits));
      else if (query.mode === 'hashes') page.hashes.push(hash);
    }
    return page;
  }

  async purgeEntries(service: string, hashes: readonly string[], soft: boolean, now: number): Promise<string[]> {
    const purged: string[] = [];
    for (const object of hashes) {
      const slot = this.objects.get(`${service}\n${object}`);
      if (!slot?.summary || !this.alive(slot, now)) continue;
      purged.push(object);
      if (!soft) {
        this.deleteObject(service, object);
        continue;
      }
      if (slot.summary.fa > now) slot.summary = { ...slot.summary, fa: now };
      const stale = new Map<CachedRecord, CachedRecord>();
      for (const key of slot.keys) {
        const held = this.slots.get(`${service}\n${key}`);
        if (held?.record.kind !== 'entry' || held.record.meta.staleAt <= now) continue;
        // A new record object (shared by the keys that shared one): readers keep a consistent view.
        let replaced = stale.get(held.record);
        if (!replaced) {
          replaced = { ...held.record, meta: { ...held.record.meta, staleAt: now } };
          stale.set(held.record, replaced);
        }
        held.record = replaced;
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
    for (const [id, slot] of this.objects) {
      if (!id.startsWith(prefix) || !slot.summary) continue;
      entries++;
      bytesStored += slot.summary.b;
    }
    return { entries, bytesStored, ...Object.fromEntries(this.stats.get(service) ?? []) };
  }

  /** Rate limits, leases and the origin's health, for this node alone (store/memory-coordination.ts). */
  async hit(service: string, client: string, limit: number, windowMs: number, now: number): Promise<RateDecision> {
    return this.coordination.hit(service, client, limit, windowMs, now);
  }

  async acquireLease(service: string, name: string, ttlMs: number): Promise<boolean> {
    return this.coordination.acquireLease(service, name, ttlMs);
  }

  async originFailed(service: string, threshold: number, cooldownMs: number, now: number): Promise<OriginHealthState> {
    return this.coordination.originFailed(service, threshold, cooldownMs, now);
  }

  async originSucceeded(service: string): Promise<void> {
    return this.coordination.originSucceeded(service);
  }

  async originState(service: string): Promise<OriginHealthState> {
    return this.coordination.originState(service);
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

  delete(service: string, entryHash: string): void {
    const id = `${service}\n${entryHash}`;
    const slot = this.slots.get(id);
    if (slot) this.remove(id, slot);
  }

  /** Drops every key of an object (a purge, an eviction, an invalidation, a replacement). */
  deleteObject(service: string, object: string): void {
    const id = `${service}\n${object}`;
    const slot = this.objects.get(id);
    if (!slot) {
      this.delete(service, object);
      return;
    }
    for (const key of [...slot.keys]) this.delete(service, key);
    this.forgetObject(id, slot);
  }

  async trimBytes(service: string, targetBytes: number): Promise<number> {
    let evicted = 0;
    const stored = () => {
      let bytes = 0;
      for (const slot of this.objects.values()) if (slot.service === service && slot.summary) bytes += slot.summary.b;
      return bytes;
    };
    let bytes = stored();
    // Least recently used first: the first slots in the Map are the oldest.
    for (const slot of [...this.slots.values()]) {
      if (bytes <= targetBytes) break;
      if (slot.service !== service) continue;
      const object = this.objects.get(`${service}\n${slot.object}`);
      if (!object?.summary) continue;
      bytes -= object.summary.b;
      this.deleteObject(service, slot.object);
      evicted++;
    }
    if (evicted > 0) await this.addStats(service, new Map([['evictions', evicted]]));
    return evicted;
  }

  async putChunk(service: string, _primaryKey: string, id: string, index: number, bytes: Buffer): Promise<void> {
    this.chunks.put(service, id, index, bytes);
  }

  async getChunk(service: string, _primaryKey: string, id: string, index: number): Promise<Buffer | undefined> {
    return this.chunks.get(service, id, index);
  }

  async dropChunks(service: string, _primaryKey: string, id: string, count: number): Promise<void> {
    this.chunks.drop(service, id, count);
  }

  /** Keeps a record fetched from the backing store (the L1 fill), without touching Vary bookkeeping. */
  remember(service: string, entryHash: string, record: CachedRecord, now: number): void {
    const deadline = record.kind === 'entry' ? record.meta.deleteAt : record.until;
    const expiresAt = Math.min(deadline, now + this.maxTtlMs);
    if (expiresAt <= now) return;
    const kept = owned(record);
    const object = kept.kind === 'entry' ? (kept.meta.object ?? entryHash) : entryHash;
    this.set(service, entryHash, kept, object, expiresAt, recordBytes(kept), now, deadline);
  }

  /** Nothing is batched: every write indexes at once. */
  async drain(_service: string): Promise<void> {}

  async close(): Promise<void> {
    this.slots.clear();
    this.objects.clear();
    this.entriesOf.clear();
    this.vary.clear();
    this.chunks.clear();
    this.bytes = 0;
  }

  private objectSlot(service: string, object: string): ObjectSlot {
    const id = `${service}\n${object}`;
    let slot = this.objects.get(id);
    if (!slot) {
      slot = { service, keys: new Set(), hits: 0 };
      this.objects.set(id, slot);
    }
    return slot;
  }

  private forgetObject(id: string, slot: ObjectSlot): void {
    if (this.objects.get(id) !== slot) return;
    this.objects.delete(id);
    if (slot.chunks) this.chunks.drop(slot.service, slot.chunks.id, slot.chunks.count);
    if (slot.summary) this.entriesOf.set(slot.service, (this.entriesOf.get(slot.service) ?? 1) - 1);
  }

  /** An object is there while one of its keys is. */
  private alive(slot: ObjectSlot, now: number): boolean {
    for (const key of slot.keys) {
      const held = this.slots.get(`${slot.service}\n${key}`);
      if (held && held.expiresAt > now) return true;
    }
    return false;
  }

  private set(
    service: string,
    entryHash: string,
    record: CachedRecord,
    object: string,
    expiresAt: number,
    bytes: number,
    now: number,
    retainUntil: number,
  ): void {
    if (bytes > this.maxEntryBytes || bytes > this.options.maxBytes) return;
    const id = `${service}\n${entryHash}`;
    const old = this.slots.get(id);
    if (old) this.remove(id, old);
    this.slots.set(id, { service, record, object, expiresAt, retainUntil, bytes, touchedAt: now });
    // A record that is its own object needs no object slot (a purge of the id removes the key
    // itself) unless a put made one for listing: most L1 copies are such records.
    const objectId = `${service}\n${object}`;
    if (object !== entryHash || this.objects.has(objectId)) this.objectSlot(service, object).keys.add(entryHash);
    this.bytes += bytes;
    // Evict least recently used until within budget; the first key in a Map is the oldest.
    while (this.usedBytes > this.options.maxBytes) {
      const oldest = this.slots.entries().next().value;
      if (!oldest) break;
      this.remove(oldest[0], oldest[1]);
    }
  }

  /** Vary records outlive nothing they describe: drop expired ones and those with no object left. */
  private sweepVary(now: number): void {
    for (const [id, record] of this.vary) {
      const service = id.slice(0, id.indexOf('\n'));
      const alive = [...record.variants].some((object) => this.objects.has(`${service}\n${object}`));
      if (record.expiresAt <= now || !alive) this.vary.delete(id);
    }
  }

  private remove(id: string, slot: Slot): void {
    this.slots.delete(id);
    this.bytes -= slot.bytes;
    const objectId = `${slot.service}\n${slot.object}`;
    const object = this.objects.get(objectId);
    if (!object) return;
    object.keys.delete(id.slice(slot.service.length + 1));
    if (object.keys.size === 0) this.forgetObject(objectId, object);
  }

  /**
   * The service's object cap, least recently used first (the embedded store has no hit frequencies
   * shared with other nodes to order by). Returns how many objects left.
   */
  private enforceCap(service: string, maxObjects: number): number {
    let evicted = 0;
    while ((this.entriesOf.get(service) ?? 0) > maxObjects) {
      let victim: string | undefined;
      for (const slot of this.slots.values()) {
        if (slot.service === service && this.objects.get(`${service}\n${slot.object}`)?.summary) {
          victim = slot.object;
          break;
        }
      }
      if (victim === undefined) break;
      this.deleteObject(service, victim);
      evicted++;
    }
    return evicted;
  }
}
