/**
 * @module The cache store over Redis. A hit is one MGET of one packed record (and its URL's
 * Vary names, which a miss needs next); writes that touch
 * several keys go through Lua so they are atomic (and cluster-safe: each script works inside one
 * key space of a service, one hash slot; a service may have several, store/keys.ts).
 */
import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import { BadCursor } from '../errors.js';
import type { RedisClient } from '../redis/connect.js';
import { decodeRecord, encodeRecord } from './codec.js';
import {
  type EntryFilter,
  expand,
  globPrefix,
  type ListPage,
  type ListQuery,
  type StoredSummary,
  summarise,
} from './entry-index.js';
import { IndexDrain } from './index-drain.js';
import { type KeySpace, keySpace, shardOf, shardPrefix } from './keys.js';
import { hitScore } from './lfu.js';
import type { ReadDeadline } from './read-deadline.js';
import { RedisCoordination } from './redis-coordination.js';
import { RedisFills } from './redis-fills.js';
import {
  decodeCursor,
  encodeCursor,
  LIST_TIME_BUDGET_MS,
  luaFilter,
  SCAN_BUDGET,
  type ScanPlan,
} from './redis-listing.js';
import { RedisPurgeMarks } from './redis-purge-marks.js';
import { timed } from './redis-timing.js';
import { defineScripts, runScript } from './scripts.js';
import { SharedReads } from './shared-reads.js';
import type {
  CachedRecord,
  CacheStore,
  CoordinationStore,
  EntryWrite,
  Found,
  Invalidation,
  JournalSource,
  OriginHealthState,
  PurgeGuard,
  PurgeScope,
  PutOutcome,
  RateDecision,
  RateLimitStore,
  StoredObject,
  UncacheableMarker,
} from './types.js';

export class RedisStore implements CacheStore, RateLimitStore, CoordinationStore {
  /**
   * `reader` serves the request path's reads (get, getVary), typically with a much shorter command
   * timeout than `client`, which does everything else.
   */
  constructor(
    readonly client: RedisClient,
    private readonly ownsClient = true,
    private readonly reader: RedisClient = client,
    /** The request path's reads give up at this deadline (store/read-deadline.ts); none: the client's own timeout. */
    private readonly deadline?: ReadDeadline,
    /** Key spaces (hash slots) each service's cache is split into (redis.serviceShards). */
    readonly shards = 1,
    /** This region's id when regions are configured (`region.id`): fills and purges are journaled. */
    readonly region = '',
  ) {
    defineScripts(client);
    this.fills = new RedisFills(client);
    this.coordination = new RedisCoordination(client);
    this.indexing = new IndexDrain(client, shards, (service, shard) => this.spaceAt(service, shard));
    this.marks = new RedisPurgeMarks(
      client,
      shards,
      region,
      (service, shard) => this.spaceAt(service, shard),
      this.reads,
    );
  }

  /** Lookups that arrive together share one read (store/shared-reads.ts). */
  private readonly reads = new SharedReads();
  /** Purge marks and receipts (store/redis-purge-marks.ts). */
  private readonly marks: RedisPurgeMarks;
  private readonly coordination: RedisCoordination;
  /** Indexing what was stored (store/index-drain.ts). */
  private readonly indexing: IndexDrain;

  /** Fleet-wide fills through this Redis (pipeline/fleet-fill.ts). */
  readonly fills: RedisFills;

  /** The key space a URL's hash (or any hash derived from it) lives in. */
  private space(service: string, hash: string): KeySpace {
    return this.spaceAt(service, shardOf(hash, this.shards));
  }

  private spaceAt(service: string, shard: number): KeySpace {
    return keySpace(shardPrefix(service, shard, this.shards));
  }

  /** Every key space of a service. */
  private spaces(service: string): KeySpace[] {
    return Array.from({ length: this.shards }, (_, shard) => this.spaceAt(service, shard));
  }

  /**
   * On a cluster, waits until a replica of the node holding `key` has what was just written there
   * (WAIT): a removal acknowledged to the operator must not come back when a master dies and its
   * replica takes over. A replica that does not answer in time is not waited for longer — the
   * removal is then as durable as Redis' asynchronous replication makes it.
   */
  private async replicated(key: string): Promise<void> {
    const client = this.client;
    if (!(client instanceof Cluster)) return;
    const owner = client.slots[calculateSlot(key)]?.[0];
    const node = client.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner);
    await node?.wait(1, REPLICATION_WAIT_MS).catch(() => undefined);
  }

  /** Groups hashes by the key space they live in. */
  private byShard<T>(hashes: Iterable<[string, T]>): Map<number, [string, T][]> {
    const groups = new Map<number, [string, T][]>();
    for (const pair of hashes) {
      const shard = shardOf(pair[0], this.shards);
      const group = groups.get(shard);
      if (group) group.push(pair);
      else groups.set(shard, [pair]);
    }
    return groups;
  }

  /** A request-path read, bounded by the read deadline when there is one. */
  private read<T>(call: Promise<T>): Promise<T> {
    return this.deadline ? this.deadline.run(call) : call;
  }

  async get(service: string, entryHash: string, now: number): Promise<CachedRecord | undefined> {
    const space = this.space(service, entryHash);
    const key = space.entry(entryHash);
    const record = await this.reads.share(key, async () => {
      const packed = await timed('get', this.read(this.reader.getBuffer(key)));
      return this.followAlias(space, packed);
    });
    return alive(record, now);
  }

  async find(service: string, entryHash: string, primaryHash: string, now: number): Promise<Found> {
    const space = this.space(service, entryHash);
    const key = space.entry(entryHash);
    // The variant's hash starts as its URL's does, so both keys live in one key space (one slot).
    const read = await this.reads.share(`${key} +vary`, async () => {
      const [packed, names, urlPurges, spacePurges] = await timed(
        'get',
        this.read(this.reader.mgetBuffer(key, space.vary(primaryHash), space.gen(primaryHash), space.epoch)),
      );
      const guard: PurgeGuard = { url: counter(urlPurges), space: counter(spacePurges) };
      return { record: await this.followAlias(space, packed ?? null), names, guard };
    });
    const { guard, names } = read;
    const record = alive(read.record, now);
    if (record) return { record, guard };
    const vary = names == null ? undefined : names.length === 0 ? [] : names.toString().split(',');
    return { record: undefined, vary, guard };
  }

  /** A packed record decoded; an alias (a bucket served by another key's bytes) costs one more read. */
  private async followAlias(space: KeySpace, packed: Buffer | null): Promise<CachedRecord | undefined> {
    const record = packed === null ? undefined : decodeRecord(packed);
    if (record?.kind !== 'alias') return record;
    const target = await timed('get', this.read(this.reader.getBuffer(space.entry(record.target))));
    const entry = target === null ? undefined : decodeRecord(target);
    return entry?.kind === 'entry' ? entry : undefined;
  }

  async getVary(service: string, primaryHash: string): Promise<string[] | undefined> {
    const names = await timed(
      'get_vary',
      this.read(this.reader.get(this.space(service, primaryHash).vary(primaryHash))),
    );
    if (names === null) return undefined;
    return names === '' ? [] : names.split(',');
  }

  /**
   * Stores an object with one small script (lua/storeKeys-3.lua) — its keys, its URL's Vary names
   * and variants set, and an item on the service's pending queue — and leaves the indexing, the
   * caps and LFU bookkeeping to a batched drain a few milliseconds later (lua/indexPending-2.lua).
   * The cap may be exceeded by the objects not yet indexed: a bounded, documented overshoot
   * (docs/redis-layout.md, "The write path").
   */
  async put(write: EntryWrite, now: number): Promise<PutOutcome> {
    const deleteAt = Math.max(...write.representations.map((r) => ('entry' in r ? r.entry.meta.deleteAt : 0)));
    const ttl = Math.ceil(deleteAt - now);
    if (ttl <= 0) return 'expired';
    this.indexing.clock = now;
    const { service, primaryKey, object } = write;
    const shard = shardOf(primaryKey, this.shards);
    const space = this.spaceAt(service, shard);
    const keysAndRecords: (string | Buffer)[] = [];
    for (const representation of write.representations) {
      keysAndRecords.push(
        representation.key,
        'entry' in representation
          ? encodeRecord({ ...representation.entry, meta: { ...representation.entry.meta, object } })
          : encodeRecord({ kind: 'alias', target: representation.aliasOf, object }),
      );
    }
    const summary = summarise(write);
    const item = [
      'O',
      object,
      primaryKey,
      deleteAt,
      hitScore(now, write.lfuHalfLifeMs),
      // Each space keeps its share of the caps (docs/redis-layout.md, "Key spaces").
      Math.ceil(write.maxObjects / this.shards),
      Math.ceil((write.maxBytes ?? 0) / this.shards),
      summary.b,
      summary.k.join(','),
      summary.g.join(','),
      summary.pa,
      JSON.stringify(summary),
    ].join('\n');
    const { guard, copy } = write;
    // As journaled for other regions (docs/regions.md): enough to find the object in this store.
    const fill = this.region === '' ? '' : JSON.stringify({ object, primary: primaryKey, url: summary.u, at: now });
    const [queued, varyChanged] = (await this.reads.written(
      'store',
      runScript(
        this.client,
        'storeKeys',
        [
          space.vary(primaryKey),
          space.variants(primaryKey),
          space.pending,
          space.gen(primaryKey),
          space.epoch,
          space.journal,
          space.applied,
          space.purged(primaryKey),
          space.purgedAll,
        ],
        [
          ttl,
          write.varyNames.join(','),
          object,
          primaryKey,
          space.prefix,
          item,
          guard ? guard.url : '',
          guard ? guard.space : '',
          copy ? '' : this.region,
          fill,
          copy?.field ?? '',
          copy?.id ?? '',
          copy ? [...copy.known].map(([field, id]) => `${field}=${id}`).join(',') : '',
          summary.c ? `${summary.c.id}:${summary.c.n}` : '',
          ...keysAndRecords,
        ],
      ),
    )) as [number, number];
    if (queued < 0) return queued === -1 ? 'overtaken' : queued === -2 ? 'conflict' : 'present';
    // A Vary change is rare: the store waits for the objects under the old names to go, so none is
    // found after put returns. A long queue (a burst across the fleet, or drains failing) is
    // drained before this store returns: the cap's overshoot stays bounded by MAX_PENDING plus the
    // stores in flight.
    if (varyChanged === 1) await this.indexing.drainShard(service, shard);
    else if (queued >= MAX_PENDING) await this.indexing.drainShard(service, shard, false);
    else this.indexing.schedule(service, shard);
    return 'stored';
  }

  /**
   * Indexes everything a service has pending (every node's stores), evicting past the caps
   * (store/index-drain.ts). `complete`: all stored before the call is indexed when it returns.
   */
  drain(service: string, complete = true): Promise<void> {
    return this.indexing.drain(service, complete);
  }

  async putChunk(
    service: string,
    primaryKey: string,
    id: string,
    index: number,
    bytes: Buffer,
    ttlMs: number,
  ): Promise<void> {
    const key = this.space(service, primaryKey).chunk(id, index);
    await timed('put_chunk', this.client.set(key, bytes, 'PX', Math.max(1, Math.ceil(ttlMs))));
  }

  async getChunk(service: string, primaryKey: string, id: string, index: number): Promise<Buffer | undefined> {
    const bytes = await timed('get_chunk', this.client.getBuffer(this.space(service, primaryKey).chunk(id, index)));
    return bytes ?? undefined;
  }

  async dropChunks(service: string, primaryKey: string, id: string, count: number): Promise<void> {
    const space = this.space(service, primaryKey);
    const keys = Array.from({ length: count }, (_, index) => space.chunk(id, index));
    // In slices: one command per thousand keys, all in the URL's slot.
    for (let i = 0; i < keys.length; i += 1000) await this.client.unlink(...keys.slice(i, i + 1000));
  }

  async trimBytes(service: string, targetBytes: number): Promise<number> {
    // Each key space keeps its share, as with the caps (docs/redis-layout.md, "Key spaces").
    const share = Math.max(1, Math.floor(targetBytes / this.shards));
    const evicted = await Promise.all(
      this.spaces(service).map(
        (space) =>
          timed('trim', runScript(this.client, 'trimBytes', [space.stats], [space.prefix, share])) as Promise<number>,
      ),
    );
    return evicted.reduce((sum, n) => sum + n, 0);
  }

  async getObject(service: string, object: string, now: number): Promise<StoredObject | undefined> {
    const space = this.space(service, object);
    await this.indexing.drainShard(service, shardOf(object, this.shards));
    const summary = await timed('get_object', this.client.hget(space.info, object));
    if (!summary) return undefined;
    const stored = JSON.parse(summary) as StoredSummary;
    const keys = stored.k?.length ? stored.k : [object];
    const [vary, packed] = await timed(
      'get_object',
      Promise.all([
        this.client.get(space.vary(stored.p)),
        this.client.mgetBuffer(...keys.map((key) => space.entry(key))),
      ]),
    );
    const representations: StoredObject['representations'] = [];
    keys.forEach((key, i) => {
      const buffer = packed[i];
      const record = buffer ? decodeRecord(buffer) : undefined;
      if (record?.kind === 'alias') representations.push({ key, aliasOf: record.target });
      else if (record?.kind === 'entry' && record.meta.deleteAt > now) representations.push({ key, entry: record });
    });
    if (!representations.some((r) => 'entry' in r)) return undefined;
    return { varyNames: vary ? vary.split(',') : [], representations };
  }

  async markUncacheable(service: string, entryHash: string, marker: UncacheableMarker, now: number): Promise<boolean> {
    const ttl = marker.until - now;
    if (ttl <= 0) return false;
    // One key, so a plain SET ... NX is atomic: a stored entry is never replaced by a marker.
    const written = await this.reads.written(
      'mark_uncacheable',
      this.client.set(this.space(service, entryHash).entry(entryHash), encodeRecord(marker), 'PX', ttl, 'NX'),
    );
    return written === 'OK';
  }

  async invalidate(service: string, primaryHash: string, from?: JournalSource): Promise<Invalidation> {
    const receipt = await this.markPurge(service, { kind: 'url', primaryKey: primaryHash }, false, Date.now(), from);
    const space = this.space(service, primaryHash);
    const removed = await this.reads.written(
      'invalidate',
      runScript(
        this.client,
        'invalidateUrl',
        [space.vary(primaryHash), space.variants(primaryHash), space.freq, space.expiry, space.info],
        [space.prefix, primaryHash],
      ),
    );
    await this.replicated(space.info);
    return { objects: removed as string[], receipt };
  }

  applied(service: string, receipt: string, now: number): Promise<void> {
    return this.marks.applied(service, receipt, now);
  }

  receipt(service: string, receipt: string): Promise<Map<string, number>> {
    return this.marks.receipt(service, receipt);
  }

  markPurge(service: string, scope: PurgeScope, soft: boolean, now: number, from?: JournalSource): Promise<string> {
    return this.marks.mark(service, scope, soft, now, from);
  }

  async addStats(service: string, counters: ReadonlyMap<string, number>): Promise<void> {
    if (counters.size === 0) return;
    // One key: a pipeline of HINCRBY is enough (and is one round trip).
    const pipeline = this.client.pipeline();
    const stats = this.spaceAt(service, 0).stats; // the first space's; readStats adds every space's
    for (const [field, n] of counters) pipeline.hincrby(stats, field, n);
    await timed('add_stats', pipeline.exec());
  }

  async readStats(service: string): Promise<Record<string, number>> {
    await this.drain(service);
    const read = await timed(
      'read_stats',
      Promise.all(
        this.spaces(service).map((space) =>
          Promise.all([this.client.hgetall(space.stats), this.client.zcard(space.freq)]),
        ),
      ),
    );
    const stats: Record<string, number> = { entries: 0 };
    for (const [fields, entries] of read) {
      stats.entries = (stats.entries ?? 0) + entries;
      for (const [field, value] of Object.entries(fields)) stats[field] = (stats[field] ?? 0) + Number(value);
    }
    return stats;
  }

  async variantsOf(service: string, primaryHash: string): Promise<string[]> {
    const space = this.space(service, primaryHash);
    await this.indexing.drainShard(service, shardOf(primaryHash, this.shards));
    const [members, plain] = await Promise.all([
      this.client.smembers(space.variants(primaryHash)),
      this.client.hexists(space.info, primaryHash),
    ]);
    return plain && !members.includes(primaryHash) ? [...members, primaryHash] : members;
  }

  async touch(service: string, hits: ReadonlyMap<string, number>, now: number, lfuHalfLifeMs: number): Promise<void> {
    if (hits.size === 0) return;
    const score = hitScore(now, lfuHalfLifeMs);
    const groups = this.byShard(hits);
    await Promise.all(
      [...groups].map(async ([shard, group]) => {
        // Hits count for objects indexed: those still pending are indexed first.
        await this.indexing.drainShard(service, shard);
        const args: (string | number)[] = [score];
        for (const [hash, count] of group) args.push(hash, count);
        const space = this.spaceAt(service, shard);
        await timed('touch', runScript(this.client, 'touchEntries', [space.freq, space.hits], args));
      }),
    );
  }

  async listEntries(service: string, query: ListQuery, now: number): Promise<ListPage> {
    const page: ListPage = { items: [], hashes: [], count: 0, scanned: 0, healed: 0 };
    const resumed = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    if (!resumed) await this.drain(service);
    const plan = resumed ?? this.plan(query.filter);
    const filter = JSON.stringify(luaFilter(query.filter));
    const deadline = Date.now() + LIST_TIME_BUDGET_MS;
    // The spaces are walked one after the other, each in its index's order.
    let shard = resumed?.s ?? 0;
    if (shard >= this.shards) throw BadCursor();
    let from = resumed && resumed.after !== '' ? `(${resumed.after}` : plan.lo;
    for (;;) {
      const prefix = this.spaceAt(service, shard).prefix;
      const reply = (await timed(
        'scan_entries',
        runScript(
          this.client,
          'scanEntries',
          [prefix + plan.k],
          [prefix, from, plan.hi, SCAN_BUDGET, query.limit - page.count, now, filter, query.mode],
        ),
      )) as (string | number)[];
      const [next, scanned, healed, matched] = reply as [string, number, number, number];
      page.scanned += scanned;
      page.healed += healed;
      page.count += matched;
      if (query.mode === 'items') {
        for (let i = 4; i < reply.length; i += 3) {
          const stored = JSON.parse(reply[i + 1] as string) as StoredSummary;
          page.items.push(expand(reply[i] as string, stored, Number(reply[i + 2])));
        }
      } else if (query.mode === 'hashes') {
        for (let i = 4; i < reply.length; i++) page.hashes.push(reply[i] as string);
      }
      const spaceDone = next === '';
      if (spaceDone && shard === this.shards - 1) return page;
      if (page.count >= query.limit || Date.now() > deadline) {
        // A cursor at the end of a space resumes at the start of the next one.
        page.cursor = spaceDone
          ? encodeCursor({ k: plan.k, lo: plan.lo, hi: plan.hi, s: shard + 1, after: '' })
          : encodeCursor({ k: plan.k, lo: plan.lo, hi: plan.hi, s: shard, after: next });
        return page;
      }
      if (spaceDone) {
        shard++;
        from = plan.lo;
      } else {
        from = `(${next}`;
      }
    }
  }

  /**
   * The index a listing walks: the objects of a tag, or the path index (every object) narrowed to
   * the filter's path prefix. Other conditions are checked on each object's summary, in bounded
   * steps (the index is lean so that misses stay cheap; docs/redis-layout.md).
   */
  private plan(filter: EntryFilter): ScanPlan {
    if (filter.tag !== undefined) return { k: `idx:tag:${filter.tag}`, lo: '-', hi: '+' };
    const fromGlob = filter.pathGlob === undefined ? '' : globPrefix(filter.pathGlob);
    const prefix = (filter.pathPrefix ?? '').length >= fromGlob.length ? (filter.pathPrefix ?? '') : fromGlob;
    if (prefix !== '') return { k: 'idx:path', lo: `[${prefix}`, hi: `[${prefix}\xff` };
    return { k: 'idx:path', lo: '-', hi: '+' };
  }

  async purgeEntries(service: string, hashes: readonly string[], soft: boolean, now: number): Promise<string[]> {
    if (hashes.length === 0) return [];
    const groups = this.byShard(hashes.map((hash): [string, true] => [hash, true]));
    const purged = await Promise.all(
      [...groups].map(async ([shard, group]) => {
        const space = this.spaceAt(service, shard);
        const removed = (await this.reads.written(
          'purge_entries',
          runScript(
            this.client,
            'purgeEntries',
            [space.stats],
            [space.prefix, String(Math.trunc(now)), soft ? 'soft' : 'hard', ...group.map(([hash]) => hash)],
          ),
        )) as string[];
        await this.replicated(space.stats);
        return removed;
      }),
    );
    return purged.flat();
  }

  /** Rate limits, leases and the origin's health (store/redis-coordination.ts). */
  hit(service: string, client: string, limit: number, windowMs: number, now: number): Promise<RateDecision> {
    return this.coordination.hit(service, client, limit, windowMs, now);
  }

  acquireLease(service: string, name: string, ttlMs: number): Promise<boolean> {
    return this.coordination.acquireLease(service, name, ttlMs);
  }

  originFailed(service: string, threshold: number, cooldownMs: number, now: number): Promise<OriginHealthState> {
    return this.coordination.originFailed(service, threshold, cooldownMs, now);
  }

  originSucceeded(service: string): Promise<void> {
    return this.coordination.originSucceeded(service);
  }

  originState(service: string): Promise<OriginHealthState> {
    return this.coordination.originState(service);
  }

  async close(): Promise<void> {
    if (!this.ownsClient) return;
    for (const client of new Set([this.client, this.reader])) await client.quit().catch(() => client.disconnect());
  }
}

/** A purge counter as read (none yet: 0). */
function counter(value: Buffer | null | undefined): number {
  return value == null ? 0 : Number(value.toString());
}

/** A record, unless past its own deadline (Redis expires keys lazily, to the millisecond). */
function alive(record: CachedRecord | undefined, now: number): CachedRecord | undefined {
  if (record === undefined) return undefined;
  return (record.kind === 'entry' ? record.meta.deleteAt : record.until) > now ? record : undefined;
}

/** The longest a removal waits for a replica to acknowledge it (cluster only). */
const REPLICATION_WAIT_MS = 250;

/**
 * Objects stored but not yet indexed past which a store drains before it returns. Indexed objects
 * never exceed the cap (each drain is atomic); stored ones may, by at most this many plus the stores
 * in flight across the fleet at that moment.
 */
export const MAX_PENDING = 64;
