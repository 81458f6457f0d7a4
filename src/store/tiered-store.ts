/**
 * @module A node's view of the cache: the in-process L1 in front of the shared store. A hit in the L1
 * costs no I/O; a miss there costs one read of the shared store, whose answer the L1 then keeps
 * for at most its short lifetime.
 */
import type { RedisClient } from '../redis/connect.js';
import type { ListPage, ListQuery } from './entry-index.js';
import type { MemoryStore } from './memory-store.js';
import { PurgeBroadcast } from './purge-broadcast.js';
import type { RedisFills } from './redis-fills.js';
import type {
  CachedRecord,
  CacheStore,
  CoordinationStore,
  EntryWrite,
  FillCoordination,
  FillNotice,
  FillOutcome,
  FlightPart,
  Found,
  Invalidation,
  JournalSource,
  OriginHealthState,
  PurgeScope,
  PutOutcome,
  RateDecision,
  RateLimitStore,
  StoredObject,
  UncacheableMarker,
} from './types.js';

export class TieredStore implements CacheStore, RateLimitStore, CoordinationStore, FillCoordination {
  private broadcast: PurgeBroadcast | undefined;

  constructor(
    readonly l1: MemoryStore,
    readonly shared: CacheStore & RateLimitStore & CoordinationStore & { fills?: RedisFills },
  ) {}

  /**
   * Listens for removals announced by any node (over the shared store's Redis) and drops them from
   * this node's L1; this node's own removals are announced too.
   */
  async listenForPurges(redis: RedisClient): Promise<void> {
    this.broadcast = await PurgeBroadcast.start(
      redis,
      ({ service, entries }) => {
        for (const object of entries) this.l1.deleteObject(service, object);
      },
      ({ service, entry, outcome }) => {
        for (const listener of this.fillListeners) listener(service, entry, outcome);
      },
    );
  }

  private readonly fillListeners: ((service: string, entryHash: string, outcome: FillNotice) => void)[] = [];

  /**
   * Fleet-wide fills need the announcements (listenForPurges): without them, a node waiting for
   * another's fill would only learn of it at the lease's end, so every node then fetches for itself.
   */
  claimFill(service: string, entryHash: string, ttlMs: number): Promise<boolean> {
    if (!this.broadcast || !this.shared.fills) return Promise.resolve(true);
    // Redis unreachable: this node fetches (coalesced among its own requests as usual).
    return this.shared.fills.claimFill(service, entryHash, ttlMs).catch(() => true);
  }

  async renewFill(service: string, entryHash: string, ttlMs: number): Promise<boolean> {
    return (await this.shared.fills?.renewFill(service, entryHash, ttlMs).catch(() => false)) ?? false;
  }

  /** Redis unreachable: taken as not held, so a waiter fetches for itself. */
  async fillHeld(service: string, entryHash: string): Promise<boolean> {
    return (await this.shared.fills?.fillHeld(service, entryHash).catch(() => false)) ?? false;
  }

  async flightAppend(service: string, entryHash: string, parts: readonly FlightPart[]): Promise<boolean> {
    return (await this.shared.fills?.flightAppend(service, entryHash, parts)) ?? false;
  }

  async flightRead(service: string, entryHash: string, after: string | undefined) {
    return (await this.shared.fills?.flightRead(service, entryHash, after)) ?? [];
  }

  async fillDone(service: string, entryHash: string, outcome: FillOutcome): Promise<void> {
    if (!this.broadcast) return;
    await this.shared.fills?.fillDone(service, entryHash, outcome).catch(() => undefined);
  }

  onFillDone(listener: (service: string, entryHash: string, outcome: FillNotice) => void): void {
    this.fillListeners.push(listener);
  }

  /** Counters live in the shared store only: every node must see every request. */
  hit(service: string, client: string, limit: number, windowMs: number, now: number): Promise<RateDecision> {
    return this.shared.hit(service, client, limit, windowMs, now);
  }

  async get(service: string, entryHash: string, now: number): Promise<CachedRecord | undefined> {
    const local = this.l1.getNow(service, entryHash, now);
    if (local) return local;
    let record: CachedRecord | undefined;
    try {
      record = await this.shared.get(service, entryHash, now);
    } catch (error) {
      // Redis unreachable or slow: what this node still holds is better than asking the origin.
      const retained = this.l1.getRetained(service, entryHash, now);
      if (retained) return retained;
      throw error;
    }
    if (record) this.l1.remember(service, entryHash, record, now);
    return record;
  }

  findLocal(service: string, entryHash: string, _primaryHash: string, now: number): Found | undefined {
    const local = this.l1.getNow(service, entryHash, now);
    return local ? { record: local } : undefined;
  }

  async find(service: string, entryHash: string, primaryHash: string, now: number): Promise<Found> {
    const local = this.l1.getNow(service, entryHash, now);
    if (local) return { record: local };
    let found: Found;
    try {
      found = await this.shared.find(service, entryHash, primaryHash, now);
    } catch (error) {
      // Redis unreachable or slow: what this node still holds is better than asking the origin.
      const retained = this.l1.getRetained(service, entryHash, now);
      if (retained) return { record: retained };
      throw error;
    }
    if (found.record) this.l1.remember(service, entryHash, found.record, now);
    return found;
  }

  async getVary(service: string, primaryHash: string, now: number): Promise<string[] | undefined> {
    try {
      return await this.shared.getVary(service, primaryHash, now);
    } catch (error) {
      const local = await this.l1.getVary(service, primaryHash, now);
      if (local) return local;
      throw error;
    }
  }

  trimBytes(service: string, targetBytes: number): Promise<number> {
    return this.shared.trimBytes(service, targetBytes);
  }

  /** Chunks live in the shared store only: the L1 keeps the manifest, never a large body. */
  putChunk(
    service: string,
    primaryKey: string,
    id: string,
    index: number,
    bytes: Buffer,
    ttlMs: number,
  ): Promise<void> {
    return this.shared.putChunk(service, primaryKey, id, index, bytes, ttlMs);
  }

  getChunk(service: string, primaryKey: string, id: string, index: number): Promise<Buffer | undefined> {
    return this.shared.getChunk(service, primaryKey, id, index);
  }

  dropChunks(service: string, primaryKey: string, id: string, count: number): Promise<void> {
    return this.shared.dropChunks(service, primaryKey, id, count);
  }

  /** From the shared store: a refresh rewrites every representation, whatever this node holds. */
  getObject(service: string, object: string, now: number): Promise<StoredObject | undefined> {
    return this.shared.getObject(service, object, now);
  }

  /**
   * Stored in the shared store only: the L1 admits what this node reads back (its first hit here),
   * not what it stores. Most stored objects — the long tail, a cold region, the refill after a purge
   * — are never asked for again on the node that fetched them; kept in the L1 they would only push
   * hot objects out and weigh on the heap. What this node held of the object (the stale copy a
   * refresh replaces) goes now; other nodes' copies, and variants of an older Vary list, age out
   * within the L1 lifetime. Until the store completes, requests for it join the fill storing it.
   */
  async put(write: EntryWrite, now: number): Promise<PutOutcome> {
    this.l1.deleteObject(write.service, write.object);
    return this.shared.put(write, now);
  }

  async markUncacheable(service: string, entryHash: string, marker: UncacheableMarker, now: number): Promise<boolean> {
    const written = await this.shared.markUncacheable(service, entryHash, marker, now);
    if (written) this.l1.remember(service, entryHash, marker, now);
    return written;
  }

  async invalidate(service: string, primaryHash: string, from?: JournalSource): Promise<Invalidation> {
    const removed = await this.shared.invalidate(service, primaryHash, from);
    // This node's L1 forgets them now, every other node when the announcement arrives (and at
    // the latest when its L1 lifetime ends, should the message be lost).
    for (const object of removed.objects) this.l1.deleteObject(service, object);
    await this.l1.invalidate(service, primaryHash);
    await this.broadcast?.announce({ service, entries: removed.objects }).catch(() => undefined);
    return removed;
  }

  markPurge(service: string, scope: PurgeScope, soft: boolean, now: number, from?: JournalSource): Promise<string> {
    return this.shared.markPurge(service, scope, soft, now, from);
  }

  applied(service: string, receipt: string, now: number): Promise<void> {
    return this.shared.applied(service, receipt, now);
  }

  receipt(service: string, receipt: string): Promise<Map<string, number>> {
    return this.shared.receipt(service, receipt);
  }

  listEntries(service: string, query: ListQuery, now: number): Promise<ListPage> {
    return this.shared.listEntries(service, query, now);
  }

  /** Purged in the shared store, then dropped from this node's L1 and announced to every node's. */
  async purgeEntries(service: string, hashes: readonly string[], soft: boolean, now: number): Promise<string[]> {
    const purged = await this.shared.purgeEntries(service, hashes, soft, now);
    for (const object of purged) this.l1.deleteObject(service, object);
    await this.broadcast?.announce({ service, entries: purged }).catch(() => undefined);
    return purged;
  }

  variantsOf(service: string, primaryHash: string): Promise<string[]> {
    return this.shared.variantsOf(service, primaryHash);
  }

  addStats(service: string, counters: ReadonlyMap<string, number>): Promise<void> {
    return this.shared.addStats(service, counters);
  }

  readStats(service: string): Promise<Record<string, number>> {
    return this.shared.readStats(service);
  }

  touch(service: string, hits: ReadonlyMap<string, number>, now: number, lfuHalfLifeMs: number): Promise<void> {
    return this.shared.touch(service, hits, now, lfuHalfLifeMs);
  }

  /** Shared through Redis; while it cannot be reached, this node decides alone (L1's bookkeeping). */
  acquireLease(service: string, name: string, ttlMs: number): Promise<boolean> {
    return this.shared.acquireLease(service, name, ttlMs).catch(() => this.l1.acquireLease(service, name, ttlMs));
  }

  originFailed(service: string, threshold: number, cooldownMs: number, now: number): Promise<OriginHealthState> {
    return this.shared
      .originFailed(service, threshold, cooldownMs, now)
      .catch(() => this.l1.originFailed(service, threshold, cooldownMs, now));
  }

  async originSucceeded(service: string): Promise<void> {
    await this.l1.originSucceeded(service);
    await this.shared.originSucceeded(service).catch(() => undefined);
  }

  originState(service: string): Promise<OriginHealthState> {
    return this.shared.originState(service).catch(() => this.l1.originState(service));
  }

  drain(service: string): Promise<void> {
    return this.shared.drain(service);
  }

  async close(): Promise<void> {
    await this.broadcast?.close();
    await Promise.all([this.l1.close(), this.shared.close()]);
  }
}
