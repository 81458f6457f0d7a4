/**
 * @module The store writer: reads a response body from a stream (at its own pace, so a slow store
 * holds the origin back rather than piling bytes up), up to the service's object size limit, then
 * turns it into the object's representations and stores them in one write. Images go on to be
 * optimised off the request path. A 304 refreshes the stored object whole instead.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { endToEndHeaders, type Headers } from '../origin/hop-by-hop.js';
import { headerMap } from '../policy/conditional.js';
import { parseTags } from '../store/entry-index.js';
import type { CacheStore, ChunkManifest, EntryMeta, EntryWrite, PurgeGuard, Representation } from '../store/types.js';
import type { ChunkProgress } from './chunk-reader.js';
import type { ImageSink } from './image-jobs.js';
import type { RequestView } from './recv.js';
import { type ObjectPlan, planWrites, storedAsSent } from './representations.js';
import type { FillHead } from './response-decision.js';
import { refreshedHeaders } from './response-decision.js';

/**
 * How a write ended: stored, over the size limit, the body failed, the store refused it, or a
 * purge overtook the fill (nothing stored).
 */
export type WriteOutcome = 'stored' | 'too-large' | 'body-failed' | 'store-failed' | 'overtaken';

export interface StoreWriterDeps {
  store: CacheStore;
  now: () => number;
  warn: (obj: object, msg: string) => void;
  /** Re-encodes stored images off the request path. */
  images?: ImageSink;
}

// Response headers that never go into a stored entry: Age is recomputed at delivery, and cookies
// are never shared (such responses are not stored at all; this is a second lock on the door).
const NOT_STORED_HEADERS = new Set(['age', 'set-cookie']);

export class StoreWriter {
  constructor(private readonly deps: StoreWriterDeps) {}

  /**
   * Reads `body` to its end and stores it as the object `head` describes: whole, or, past the
   * service's `cache.chunks.aboveBytes`, in chunks written as they come (writeChunked).
   */
  async write(
    view: RequestView,
    head: FillHead,
    body: Readable,
    responseTime: number,
    guard?: PurgeGuard,
    progress?: ChunkProgress,
  ): Promise<WriteOutcome> {
    const limit = head.maxObjectBytes;
    const { aboveBytes } = view.service.cache.chunks;
    const chunks: Buffer[] = [];
    let bytes = 0;
    const iterator = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    try {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        const chunk = next.value;
        bytes += chunk.length;
        if (bytes > limit) {
          body.destroy();
          return 'too-large';
        }
        chunks.push(chunk);
        if (bytes > aboveBytes) {
          return await this.writeChunked(view, head, body, iterator, chunks, responseTime, guard, progress);
        }
      }
    } catch {
      return 'body-failed';
    }
    const meta = this.metaFor(view, head, responseTime);
    try {
      const plan = await planWrites(view, head.entryKey, meta, Buffer.concat(chunks, bytes));
      if (
        plan.write &&
        (await this.deps.store.put(objectWrite(view, plan.write, guard), meta.storedAt)) === 'overtaken'
      ) {
        return 'overtaken';
      }
      if (plan.image) this.deps.images?.enqueue(plan.image);
      return 'stored';
    } catch (error) {
      this.deps.warn({ err: error, service: view.service.id }, 'storing a response failed');
      return 'store-failed';
    }
  }

  /**
   * A large body: cut into chunks of `cache.chunks.chunkBytes`, each written as soon as it is full
   * (the body waits for the write: backpressure, and never more than a chunk held), then the record
   * naming them. Chunks of a body that fails, grows past the limit or is not stored are dropped.
   */
  private async writeChunked(
    view: RequestView,
    head: FillHead,
    body: Readable,
    rest: AsyncIterator<Buffer>,
    start: Buffer[],
    responseTime: number,
    guard: PurgeGuard | undefined,
    progress: ChunkProgress | undefined,
  ): Promise<WriteOutcome> {
    const meta = this.metaFor(view, head, responseTime);
    const cutter = new ChunkCutter(this.deps.store, view, Math.max(1, meta.deleteAt - this.deps.now()), progress);
    const outcome = await this.storeChunks(view, head, body, rest, start, cutter, meta, guard);
    progress?.end(outcome === 'stored' ? 'stored' : 'failed');
    if (outcome !== 'stored') {
      body.destroy();
      await cutter.drop();
    }
    return outcome;
  }

  private async storeChunks(
    view: RequestView,
    head: FillHead,
    body: Readable,
    rest: AsyncIterator<Buffer>,
    start: Buffer[],
    cutter: ChunkCutter,
    meta: EntryMeta,
    guard: PurgeGuard | undefined,
  ): Promise<WriteOutcome> {
    try {
      try {
        for (const chunk of start) await cutter.add(chunk);
        for (let next = await rest.next(); !next.done; next = await rest.next()) {
          if (cutter.bytes + next.value.length > head.maxObjectBytes) return 'too-large';
          await cutter.add(next.value);
        }
      } catch (error) {
        // The origin's body failed (or, rethrown, writing a chunk did).
        if (!body.errored && !body.destroyed) throw error;
        return 'body-failed';
      }
      meta.chunks = await cutter.finish();
      const stored = await this.deps.store.put(objectWrite(view, storedAsSent(view, meta), guard), meta.storedAt);
      return stored === 'overtaken' ? 'overtaken' : 'stored';
    } catch (error) {
      this.deps.warn({ err: error, service: view.service.id }, 'storing a response failed');
      return 'store-failed';
    }
  }

  /**
   * A 304 refreshes the whole object: every representation gets the update's headers (each keeping
   * its own coding, type, Vary and ETag) and the new freshness, so no representation is left to
   * revalidate on its own. Nothing is stored when the object is gone meanwhile (purged, evicted).
   */
  async refresh(
    view: RequestView,
    head: FillHead,
    object: string,
    update: Headers,
    responseTime: number,
    guard?: PurgeGuard,
  ): Promise<WriteOutcome> {
    const meta = this.metaFor(view, head, responseTime);
    try {
      const stored = await this.deps.store.getObject(view.service.id, object, meta.storedAt);
      if (!stored) return 'stored';
      const omit = head.decision.ok ? head.decision.omitFields : [];
      const etag = typeof update.etag === 'string' ? update.etag : undefined;
      const representations = stored.representations.map((representation): Representation => {
        if (!('entry' in representation)) return representation;
        const { entry } = representation;
        const headers = storedPairs(endToEndHeaders(refreshedHeaders(entry, update), new Set(omit)));
        const derived = entry.meta.coding !== undefined || entry.meta.imageFormat !== undefined;
        return {
          key: representation.key,
          entry: {
            ...entry,
            meta: {
              ...entry.meta,
              headers,
              responseTime: meta.responseTime,
              storedAt: meta.storedAt,
              initialAgeSeconds: meta.initialAgeSeconds,
              staleAt: meta.staleAt,
              deleteAt: meta.deleteAt,
              tags: tagsOf(headerMap(headers), view.runtime.tagHeaders),
              ...(derived && etag !== undefined ? { originEtag: etag } : {}),
            },
          },
        };
      });
      const outcome = await this.deps.store.put(
        objectWrite(view, { object, varyNames: stored.varyNames, representations }, guard),
        meta.storedAt,
      );
      return outcome === 'overtaken' ? 'overtaken' : 'stored';
    } catch (error) {
      this.deps.warn({ err: error, service: view.service.id }, 'storing a response failed');
      return 'store-failed';
    }
  }

  private metaFor(view: RequestView, head: FillHead, responseTime: number): EntryMeta {
    if (!head.decision.ok) throw new Error('the store writer was given a response that may not be stored');
    const { target } = view;
    return {
      status: head.status,
      headers: storedPairs(head.sharedHeaders),
      responseTime,
      storedAt: this.deps.now(),
      initialAgeSeconds: head.decision.initialAgeSeconds,
      staleAt: head.decision.staleAt,
      deleteAt: head.decision.deleteAt,
      varyNames: head.decision.varyNames,
      url: view.primary.readable,
      path: target.query === '' ? target.path : `${target.path}?${target.query}`,
      variant: head.variant,
      tags: tagsOf(head.sharedHeaders, view.runtime.tagHeaders),
      ...(head.decision.rule ? { rule: head.decision.rule } : {}),
      ...(head.decision.staleOverride ? { staleOverride: head.decision.staleOverride } : {}),
    };
  }
}

/**
 * Cuts a body into chunks of `cache.chunks.chunkBytes` under a fresh id and writes each as soon as
 * it is full (the caller waits: backpressure). One buffer of a chunk's size is filled and reused
 * for every chunk (a store is done with it when its write resolves), so a large fill makes no
 * garbage of its own. Chunks live as long as the object would: its put adopts them; `drop`
 * removes them when it will not be stored.
 */
class ChunkCutter {
  private readonly id = randomBytes(9).toString('base64url');
  private readonly buffer: Buffer;
  private filled = 0;
  private count = 0;
  bytes = 0;

  constructor(
    private readonly store: CacheStore,
    private readonly view: RequestView,
    private readonly ttlMs: number,
    /** Told of each chunk written, for the requests following the fill. */
    private readonly progress?: ChunkProgress,
  ) {
    this.buffer = Buffer.allocUnsafeSlow(view.service.cache.chunks.chunkBytes);
  }

  async add(piece: Buffer): Promise<void> {
    this.bytes += piece.length;
    let at = 0;
    while (at < piece.length) {
      const copied = piece.copy(this.buffer, this.filled, at);
      this.filled += copied;
      at += copied;
      if (this.filled === this.buffer.length) await this.write();
    }
  }

  async finish(): Promise<ChunkManifest> {
    if (this.filled > 0) await this.write();
    return { id: this.id, size: this.buffer.length, count: this.count, bytes: this.bytes };
  }

  drop(): Promise<void> {
    return this.store
      .dropChunks(this.view.service.id, this.view.primary.hash, this.id, this.count)
      .catch(() => undefined);
  }

  private async write(): Promise<void> {
    const chunk = this.buffer.subarray(0, this.filled);
    await this.store.putChunk(this.view.service.id, this.view.primary.hash, this.id, this.count, chunk, this.ttlMs);
    this.count++;
    this.filled = 0;
    this.progress?.chunk(this.id, this.count, this.buffer.length);
  }
}

function objectWrite(view: RequestView, plan: ObjectPlan, guard: PurgeGuard | undefined): EntryWrite {
  const cache = view.service.cache;
  return {
    service: view.service.id,
    primaryKey: view.primary.hash,
    ...plan,
    maxObjects: cache.maxObjects,
    maxBytes: cache.maxBytes,
    lfuHalfLifeMs: cache.lfuHalfLifeMs,
    ...(guard ? { guard } : {}),
  };
}

/** Tags from the service's tagging headers, as stored with the entry. */
function tagsOf(headers: Headers, names: readonly string[]): string[] {
  const values: string[] = [];
  for (const name of names) {
    const value = headers[name];
    if (typeof value === 'string') values.push(value);
    else if (Array.isArray(value)) values.push(...value);
  }
  return values.length === 0 ? [] : parseTags(values);
}

/** Header pairs as stored: without the fields never stored (Age, Set-Cookie). */
function storedPairs(headers: Headers): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || NOT_STORED_HEADERS.has(name)) continue;
    if (Array.isArray(value)) for (const v of value) pairs.push([name, v]);
    else pairs.push([name, value]);
  }
  return pairs;
}
