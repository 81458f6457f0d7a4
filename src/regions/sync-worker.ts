/**
 * @module `cachefront sync`: keeps this region in step with its peers (docs/regions.md). For each
 * peer it reads every journal (one per key space of each service) through its consumer group, and
 * applies each purge here — marked as applied from that journal, so nothing older than it is
 * accepted afterwards — then leaves the purge's receipt in the peer's Redis and acknowledges it.
 * Fills it pre-warms: the object is copied from the peer's store (never the origin), stored only
 * if it knew of every purge marked here for it (lua/storeKeys-9.lua).
 * It trims this region's own journals once every peer has read past a point, and, when this
 * region's Redis comes back empty, reads the peers' journals again from the start of what they
 * keep (the purges applied here were lost with it).
 */
import type { Logger } from 'pino';
import type { RedisClient } from '../redis/connect.js';
import { purgeMatching, purgeUrl } from '../store/bulk-purge.js';
import { keySpace, shardPrefix } from '../store/keys.js';
import { RedisStore } from '../store/redis-store.js';
import type { CacheStore, ChunkManifest, JournalSource, StoredObject } from '../store/types.js';
import { Copier, type CopierSettings } from './copier.js';
import { type FillRecord, idBefore, idTime, type JournalRecord, type PurgeRecord, parseRecord } from './journal.js';
import { type JournalEntry, type JournalStream, PeerJournals } from './peer-journals.js';
import { syncMetrics, zeroSyncMetrics } from './sync-metrics.js';

export interface SyncPeer {
  id: string;
  client: RedisClient;
  /** Key spaces per service in that region (its redis.serviceShards). */
  shards: number;
}

export interface PrewarmSettings extends CopierSettings {
  enabled: boolean;
  /** Services whose fills are copied (empty: every service). */
  services: readonly string[];
  objects: 'hot' | 'all';
  minHits: number;
  waitMs: number;
  maxAgeMs: number;
}

/** A service's caps, as its configuration sets them (a copy is stored under them like a fill). */
export interface ServiceLimits {
  maxObjects: number;
  maxBytes: number;
  lfuHalfLifeMs: number;
}

export interface SyncWorkerOptions {
  region: string;
  services: readonly string[];
  /** This region's store (announcing removals to its edges' L1s) and its Redis. */
  store: CacheStore;
  client: RedisClient;
  shards: number;
  peers: readonly SyncPeer[];
  pollMs: number;
  batch: number;
  trimEveryMs: number;
  prewarm: PrewarmSettings;
  limits: (service: string) => ServiceLimits;
  log: Logger;
  now?: () => number;
}

/** How often the worker checks that this region's Redis still holds what it applied. */
const FRESH_CHECK_MS = 1000;

export class SyncWorker {
  private readonly journals: PeerJournals[];
  /** Each peer's store, read for the objects copied from it. */
  private readonly peerStores = new Map<string, RedisStore>();
  private readonly copier: Copier;
  private stopped = false;
  private readonly loops: Promise<void>[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly wakers = new Set<() => void>();
  /** Peers whose journals are read again after this region's Redis came back empty, until caught up. */
  private readonly replaying = new Set<string>();
  /**
   * Fills journaled before this time are not copied: set when this region's Redis was found empty,
   * as the purges it had applied (their marks) may be gone from the peers' journals too.
   */
  private copyAfter = 0;
  private readonly now: () => number;

  constructor(private readonly options: SyncWorkerOptions) {
    this.now = options.now ?? Date.now;
    this.journals = options.peers.map(
      (peer) => new PeerJournals(peer.id, peer.client, options.services, peer.shards, options.region),
    );
    for (const peer of options.peers) {
      this.peerStores.set(peer.id, new RedisStore(peer.client, false, peer.client, undefined, peer.shards));
      zeroSyncMetrics(peer.id, options.region);
    }
    this.copier = new Copier(options.prewarm, this.now);
  }

  private get marker(): string {
    return `cf:sync:${this.options.region}`;
  }

  async start(): Promise<void> {
    await Promise.all(this.journals.map((journals) => journals.ensureGroups()));
    await this.checkFresh();
    for (const journals of this.journals) this.loops.push(this.follow(journals));
    this.every(FRESH_CHECK_MS, () => this.checkFresh());
    this.every(this.options.trimEveryMs, () => this.trim());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.copier.stop();
    for (const timer of this.timers) clearInterval(timer);
    for (const wake of this.wakers) wake();
    await Promise.all(this.loops);
  }

  private every(ms: number, task: () => Promise<void>): void {
    const timer = setInterval(() => {
      task().catch((error: unknown) => this.options.log.warn({ err: error }, 'sync: a periodic task failed'));
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }

  /**
   * This region's Redis has no marker: it is new, or it came back empty. Either way what was applied
   * here before is not there: the peers' journals are read again from the start of what they keep.
   */
  private async checkFresh(): Promise<void> {
    const set = await this.options.client.set(this.marker, String(this.now()), 'NX');
    if (set !== 'OK') return;
    this.options.log.info({ region: this.options.region }, 'sync: reading every peer journal from its start');
    this.copyAfter = this.now();
    for (const journals of this.journals) this.replaying.add(journals.peer);
    await Promise.all(this.journals.map((journals) => journals.rewind()));
  }

  /** Reads one peer's journals until stopped: each stream in order, all streams side by side. */
  private async follow(journals: PeerJournals): Promise<void> {
    while (!this.stopped) {
      let read = 0;
      try {
        const counts = await Promise.all(journals.streams.map((stream) => this.readStream(journals, stream)));
        read = counts.reduce((a, b) => a + b, 0);
      } catch (error) {
        this.options.log.warn({ err: error, peer: journals.peer }, 'sync: reading a peer journal failed');
      }
      if (read === 0) {
        // Caught up with every journal of this peer: its replay is over.
        this.replaying.delete(journals.peer);
        await this.sleep(this.options.pollMs);
      }
    }
  }

  private async readStream(journals: PeerJournals, stream: JournalStream): Promise<number> {
    const entries = await journals.read(stream, this.options.batch);
    for (const entry of entries) {
      if (this.stopped) break;
      await this.handle(journals, stream, entry);
    }
    return entries.length;
  }

  /** Applies one journal entry and acknowledges it (public for tests of repeated and reordered delivery). */
  async handle(journals: PeerJournals, stream: JournalStream, entry: JournalEntry): Promise<void> {
    const from = journals.peer;
    const to = this.options.region;
    let record: JournalRecord;
    try {
      record = parseRecord(entry.id, entry.fields);
    } catch (error) {
      // Reported and skipped: a record that cannot be read would otherwise stop the journal for good.
      syncMetrics.rejected.inc({ from });
      this.options.log.error({ err: error, peer: from, journal: stream.key, id: entry.id }, 'sync: unreadable record');
      await journals.ack(stream, entry.id);
      return;
    }
    if (record.kind === 'purge') {
      await this.applyPurge(stream, record, { field: stream.field, id: entry.id });
      const now = this.now();
      await journals.receipt(stream, entry.id, now);
      syncMetrics.purgesApplied.inc({ from, to });
      syncMetrics.lag.observe({ from, to, kind: 'purge' }, Math.max(0, now - idTime(entry.id)) / 1000);
    } else if (this.wants(stream.service, record)) {
      const due = this.options.prewarm.objects === 'hot' ? record.at + this.options.prewarm.waitMs : 0;
      // Acknowledged once copied (or not): until then a restart reads it again.
      const scheduled = this.copier.schedule(async () => {
        try {
          await this.copy(journals.peer, stream, record);
        } finally {
          await journals.ack(stream, entry.id);
        }
      }, due);
      if (scheduled) return;
      syncMetrics.skipped.inc({ from, to, reason: 'queue-full' });
    }
    await journals.ack(stream, entry.id);
  }

  /** The journals of one peer, as this worker follows them. */
  journalsOf(peer: string): PeerJournals | undefined {
    return this.journals.find((journals) => journals.peer === peer);
  }

  /** Resolves once no copy is queued or running. */
  copiesDone(): Promise<void> {
    return this.copier.idle();
  }

  /** Is this fill one to copy here? */
  private wants(service: string, record: FillRecord): boolean {
    const { prewarm } = this.options;
    if (!prewarm.enabled || this.replaying.size > 0) return false;
    if (prewarm.services.length > 0 && !prewarm.services.includes(service)) return false;
    const at = idTime(record.id);
    return at > this.copyAfter && this.now() - at <= prewarm.maxAgeMs;
  }

  /**
   * Copies a fill's object from the peer's store. Stored here only if it knew of every purge marked
   * here for it, and only where this region holds nothing of it yet (lua/storeKeys-9.lua).
   */
  private async copy(peer: string, stream: JournalStream, record: FillRecord): Promise<void> {
    const to = this.options.region;
    const source = this.peerStores.get(peer) as RedisStore;
    const { prewarm } = this.options;
    if (prewarm.objects === 'hot') {
      const hits = Number(await source.client.hget(keySpace(stream.prefix).hits, record.object));
      if (!(hits >= prewarm.minHits)) return void syncMetrics.skipped.inc({ from: peer, to, reason: 'cold' });
    }
    const now = this.now();
    const object = await source.getObject(stream.service, record.object, now);
    if (!object) return void syncMetrics.skipped.inc({ from: peer, to, reason: 'gone' });
    // A chunked body's chunks come first, one at a time; the record that adopts them follows.
    const copied = await this.copyChunks(source, stream.service, record.primary, object, now);
    if (copied === undefined) return void syncMetrics.skipped.inc({ from: peer, to, reason: 'gone' });
    const outcome = await this.options.store.put(
      {
        service: stream.service,
        primaryKey: record.primary,
        object: record.object,
        varyNames: object.varyNames,
        representations: object.representations,
        ...this.options.limits(stream.service),
        copy: { field: stream.field, id: record.id, known: record.known },
      },
      now,
    );
    if (outcome !== 'stored') await this.dropChunks(stream.service, record.primary, copied.manifests);
    if (outcome === 'conflict') return void syncMetrics.conflicts.inc({ from: peer, to });
    if (outcome !== 'stored') return void syncMetrics.skipped.inc({ from: peer, to, reason: outcome });
    let bytes = copied.bytes;
    for (const representation of object.representations) {
      if ('entry' in representation) bytes += representation.entry.body.length;
    }
    syncMetrics.entriesShipped.inc({ from: peer, to });
    syncMetrics.bytesShipped.inc({ from: peer, to }, bytes);
    syncMetrics.lag.observe({ from: peer, to, kind: 'fill' }, Math.max(0, this.now() - idTime(record.id)) / 1000);
  }

  /**
   * Copies the chunks of an object's chunked bodies from the peer's store into this region's,
   * one chunk in memory at a time, living as long as the object may until its record adopts them.
   * Undefined when a chunk is gone at the peer (purged or evicted meanwhile): what was copied is
   * dropped, and the region fetches the object itself when asked.
   */
  private async copyChunks(
    source: RedisStore,
    service: string,
    primary: string,
    object: StoredObject,
    now: number,
  ): Promise<{ bytes: number; manifests: ChunkManifest[] } | undefined> {
    const manifests: ChunkManifest[] = [];
    let bytes = 0;
    for (const representation of object.representations) {
      if (!('entry' in representation)) continue;
      const { meta } = representation.entry;
      const manifest = meta.chunks;
      if (!manifest) continue;
      manifests.push(manifest);
      const ttlMs = Math.max(1, meta.deleteAt - now);
      for (let index = 0; index < manifest.count; index++) {
        const chunk = await source.getChunk(service, primary, manifest.id, index);
        if (!chunk) {
          await this.dropChunks(service, primary, manifests);
          return undefined;
        }
        await this.options.store.putChunk(service, primary, manifest.id, index, chunk, ttlMs);
        bytes += chunk.length;
      }
    }
    return { bytes, manifests };
  }

  private async dropChunks(service: string, primary: string, manifests: readonly ChunkManifest[]): Promise<void> {
    for (const { id, count } of manifests) {
      await this.options.store.dropChunks(service, primary, id, count).catch(() => undefined);
    }
  }

  private async applyPurge(stream: JournalStream, record: PurgeRecord, from: JournalSource): Promise<void> {
    const { store } = this.options;
    const now = this.now();
    const { scope, soft } = record;
    if (scope.kind === 'url') {
      await purgeUrl(store, stream.service, scope.primaryKey, scope.url, soft, now, from);
      return;
    }
    await purgeMatching(store, stream.service, scope.kind === 'filter' ? scope.filter : {}, {
      soft,
      dryRun: false,
      now: this.now,
      from,
    });
  }

  /**
   * Trims each of this region's journals up to what every peer has read and acknowledged (its
   * oldest unacknowledged record, else the last delivered). A journal some peer has no group on yet
   * is left whole.
   */
  private async trim(): Promise<void> {
    const { client, services, shards, peers, region } = this.options;
    for (const service of services) {
      let length = 0;
      for (let space = 0; space < shards; space++) {
        const key = keySpace(shardPrefix(service, space, shards)).journal;
        const groups = (await client.xinfo('GROUPS', key).catch(() => [])) as unknown[][];
        const byName = new Map(groups.map((fields) => [fieldOf(fields, 'name'), fields] as const));
        let floor: string | undefined;
        for (const peer of peers) {
          const group = byName.get(`sync:${peer.id}`);
          if (!group) {
            floor = undefined;
            break;
          }
          let safe = String(fieldOf(group, 'last-delivered-id'));
          if (Number(fieldOf(group, 'pending')) > 0) {
            const [, oldest] = (await client.xpending(key, `sync:${peer.id}`)) as [number, string];
            safe = oldest;
          }
          if (floor === undefined || idBefore(safe, floor)) floor = safe;
        }
        if (floor !== undefined && floor !== '0-0') await client.xtrim(key, 'MINID', floor);
        length += await client.xlen(key);
      }
      syncMetrics.journalLength.set({ region, service }, length);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }
}

/** A field of an XINFO reply (a flat list of names and values). */
function fieldOf(fields: unknown[], name: string): unknown {
  const at = fields.indexOf(name);
  return at === -1 ? undefined : fields[at + 1];
}
