/**
 * @module A fill: one origin fetch whose response is streamed to every request waiting for it and,
 * when storable, kept and stored once complete. Waiters read from the fill at their own pace (the
 * origin is paused while any of them is full, resumed when all have drained). A response that may
 * not be shared — not storable, or varying on a header a waiter differs in — goes only to the
 * request that started the fill; the others are released to fetch on their own.
 */
import { Readable } from 'node:stream';
import type { CachefrontError } from '../errors.js';
import { variantKey } from '../key/cache-key.js';
import { varyValues } from '../key/vary.js';
import type { OriginClients } from '../origin/client.js';
import type { Headers } from '../origin/hop-by-hop.js';
import { endToEndHeaders } from '../origin/hop-by-hop.js';
import { headerMap, mergeNotModified, notModifiedSelects, revalidationHeaders } from '../policy/conditional.js';
import { formatHttpDate } from '../policy/http-date.js';
import { decideStorage, type StoreDecision } from '../policy/storable.js';
import { mediaType, parseTags } from '../store/entry-index.js';
import type { CachedEntry, CacheStore, EntryMeta, EntryWrite, Representation } from '../store/types.js';
import { compressible, declaredCoding, representationEtag, sniffCoding } from '../transform/compress.js';
import type { ImageOptimiser } from './image-jobs.js';
import { fillCookie, fillRequestHeaders, originTarget } from './origin-request.js';
import type { RequestView } from './recv.js';
import { type ObjectPlan, planWrites } from './representations.js';

export interface FillHead {
  /** Status delivered to clients (the stored one after a 304). */
  status: number;
  /** What the origin answered (304 when a stored response was revalidated). */
  originStatus: number;
  /** End-to-end response headers, as delivered to the request that started the fill. */
  headers: Headers;
  /**
   * The headers every other request (and the stored copy) gets: without the fields a qualified
   * `private="…"` or `no-cache="…"` withholds from reuse.
   */
  sharedHeaders: Headers;
  decision: StoreDecision;
  /** The response will be stored once complete (storable, and not known to be over the size limit). */
  storing: boolean;
  /** Entry hash the response is stored under (its Vary names applied to the fill's request). */
  entryKey: string;
  /** The request values of its Vary names, by name (listed by the admin API). */
  variant: [string, string | null][];
  /** Time the origin took to send the response head (ms; 0 for a 304-refreshed entry's body). */
  originMs: number;
  /** A full response that replaces a stored entry the fill revalidated (the stored one is outdated). */
  replacesStored?: boolean;
}

export type Attachment =
  | { kind: 'shared'; head: FillHead; headers: Headers; body: Readable | null; collapsed: boolean }
  | { kind: 'released' }
  | { kind: 'failed'; error: CachefrontError };

export interface Waiter {
  view: RequestView;
  /** HEAD requests need the head only. */
  headOnly: boolean;
  /** Forwards 103 Early Hints to the client (only the request that started the fill gets them). */
  earlyHints?: (headers: Headers) => void;
}

export interface FillDeps {
  origin: OriginClients;
  store: CacheStore;
  now: () => number;
  onStoreError: (error: unknown, view: RequestView) => void;
  /** Called once the fill takes no more waiters (its registry entry can go). */
  onClosed: () => void;
  /** Called when the response turned out not to be storable (for hit-for-miss). */
  onUncacheable: (head: FillHead) => void;
  /** Body bytes received from the origin (the service's egress stats). */
  onOriginBytes?: (view: RequestView, bytes: number) => void;
  /** Re-encodes stored images off the request path. */
  images?: ImageOptimiser;
}

export interface FillOptions {
  /** False when the key is known to exceed the size limit: then nothing is kept at all. */
  mayStore?: boolean;
  /** A stored response to revalidate: its validators make the fetch conditional. */
  stale?: CachedEntry | undefined;
  /**
   * The client asked for validation (no-cache, max-age…): it may share an origin request still
   * under way, but not a response that had already arrived before it asked.
   */
  unansweredOnly?: boolean;
}

// Response headers that never go into a stored entry: Age is recomputed at delivery, and cookies
// are never shared (such responses are not stored at all; this is a second lock on the door).
const NOT_STORED_HEADERS = new Set(['age', 'set-cookie']);

interface Joined {
  waiter: Waiter;
  resolve: (attachment: Attachment) => void;
  stream?: Readable;
  collapsed: boolean;
}

export class Fill {
  private head: FillHead | undefined;
  private failure: CachefrontError | undefined;
  private readonly joined: Joined[] = [];
  /** The request that started the fill: the only one an unshareable response may go to. */
  private creator: Joined | undefined;
  /** Body chunks kept while the body may still be stored (and served to late joiners). */
  private chunks: Buffer[] | undefined = [];
  private bytes = 0;
  private complete = false;
  private closed = false;
  private originBody: Readable | undefined;
  private readonly blocked = new Set<Readable>();
  /** Set when a 304 refreshed a stored representation: it is stored back as it was. */
  private refreshedFrom: RefreshedFrom | undefined;

  constructor(
    private readonly view: RequestView,
    /** The Vary names the fill's key was computed with (the edge's best knowledge when it started). */
    private readonly guessedNames: readonly string[],
    private readonly deps: FillDeps,
    private readonly options: FillOptions = {},
  ) {}

  /** Starts the origin fetch; the first waiter should be attached before. */
  start(): this {
    void this.run();
    return this;
  }

  /** Requests attached to this fill and not yet done with it. */
  get waiting(): number {
    return this.joined.length;
  }

  /** True once the origin's response head has arrived. */
  get answered(): boolean {
    return this.head !== undefined || this.failure !== undefined;
  }

  /** Joins this fill; undefined when it no longer takes waiters. */
  attach(waiter: Waiter): Promise<Attachment> | undefined {
    if (this.closed) return undefined;
    return new Promise((resolve) => {
      const joined: Joined = { waiter, resolve, collapsed: this.creator !== undefined };
      this.creator ??= joined;
      this.joined.push(joined);
      if (this.failure) resolve({ kind: 'failed', error: this.failure });
      else if (this.head) this.admit(joined, this.head);
    });
  }

  private async run(revalidate = true): Promise<void> {
    const requestTime = this.deps.now();
    const stale = revalidate ? this.options.stale : undefined;
    const storedHeaders = stale ? headerMap(stale.meta.headers) : undefined;
    // A representation the edge made carries its own ETag; the origin knows the one it sent.
    if (storedHeaders && stale?.meta.originEtag !== undefined) storedHeaders.etag = stale.meta.originEtag;
    // RFC 9111 §4.3.1: revalidate with the stored validators, so an unchanged body is not sent again.
    const conditional = storedHeaders ? revalidationHeaders(storedHeaders) : {};
    let response: Awaited<ReturnType<OriginClients['request']>>;
    try {
      response = await this.deps.origin.request(this.view.service, {
        method: 'GET',
        target: originTarget(this.view),
        headers: { ...fillRequestHeaders(this.view, this.guessedNames), ...conditional },
        onInfo: (info) => {
          // RFC 9110 §15.2: informational responses are passed on, never stored.
          if (info.statusCode === 103) this.creator?.waiter.earlyHints?.(endToEndHeaders(info.headers));
        },
      });
    } catch (error) {
      this.fail(error as CachefrontError);
      return;
    }
    const responseTime = this.deps.now();
    const headers = endToEndHeaders(response.headers);
    // RFC 9110 §6.6.1: an origin without a clock sends no Date; the edge adds the receipt time.
    headers.date ??= formatHttpDate(responseTime);
    if (response.status === 304 && stale && storedHeaders && Object.keys(conditional).length > 0) {
      response.body.resume(); // a 304 has no body; let undici reuse the connection
      // §4.3.4: a 304 whose validator names another representation updates nothing; fetch it whole.
      if (!notModifiedSelects(storedHeaders, headers)) return this.run(false);
      this.refreshed(stale, headers, requestTime, responseTime);
      return;
    }
    await this.checkContentCoding(headers, response.body);
    const declared = Number(response.headers['content-length']);
    const tooLarge =
      this.options.mayStore === false ||
      (Number.isFinite(declared) && declared > this.view.service.cache.maxObjectBytes);
    const head = this.headFor(response.status, response.status, headers, requestTime, responseTime, tooLarge);
    if (stale) head.replacesStored = true;
    this.head = head;
    this.originBody = response.body;
    if (!head.storing) {
      this.chunks = undefined;
      this.close();
      this.deps.onUncacheable(head);
    }
    for (const joined of [...this.joined]) this.admit(joined, head);
    this.pump(response.body, head, responseTime);
  }

  /** Decides storability and the entry key for a response head. */
  private headFor(
    status: number,
    originStatus: number,
    headers: Headers,
    requestTime: number,
    responseTime: number,
    tooLarge: boolean,
  ): FillHead {
    const stored = this.options.stale?.meta.status;
    // CPDoS: a stored success being revalidated is never replaced by an error response.
    const decision: StoreDecision =
      stored !== undefined && stored < 400 && status >= 400
        ? { ok: false, reason: 'error-over-success' }
        : decideStorage({
            method: 'GET',
            requestHeaders: this.view.headers,
            status,
            responseHeaders: headers,
            requestTime,
            responseTime,
            heuristic: this.view.service.cache.heuristicFreshness,
            keepForRevalidationMs: this.view.service.cache.keepForRevalidationMs,
            stripSetCookie: this.view.service.cache.stripSetCookie,
            stale: this.view.service.cache.stale,
            cookieNeedsVary:
              this.view.service.cache.requestCookies === 'when-varied' && fillCookie(this.view) !== undefined,
          });
    const names = decision.ok ? decision.varyNames : this.guessedNames;
    const values = varyValues(names, this.view.headers, this.view.runtime.vary);
    const omit = decision.ok ? decision.omitFields : [];
    return {
      status,
      originStatus,
      headers,
      sharedHeaders: omit.length === 0 ? headers : endToEndHeaders(headers, new Set(omit)),
      decision: tooLarge ? { ok: false, reason: 'too-large' } : decision,
      storing: decision.ok && !tooLarge,
      entryKey: variantKey(this.view.primary, names, values).hash,
      variant: names.map((name, i) => [name, values[i] ?? null]),
      originMs: Math.max(0, responseTime - requestTime),
    };
  }

  /**
   * The origin answered 304: the stored body stands, with the stored headers updated from the 304
   * (RFC 9111 §3.2 / §4.3.4) and its freshness computed anew. No body bytes came from the origin.
   */
  private refreshed(stale: CachedEntry, update: Headers, requestTime: number, responseTime: number): void {
    const merged = refreshedHeaders(stale, update);
    const head = this.headFor(stale.meta.status, 304, merged, requestTime, responseTime, false);
    // A copy: the 304's header object goes on to the response (which adds its own fields) while the
    // store, a few awaits later, still reads it.
    this.refreshedFrom = { object: stale.meta.object ?? head.entryKey, update: { ...update } };
    // The response now comes from the cache: its Age is the refreshed entry's, not the 304's.
    if (head.decision.ok) merged.age = String(head.decision.initialAgeSeconds);
    else delete merged.age;
    this.head = head;
    this.chunks = [stale.body];
    this.bytes = stale.body.length;
    this.complete = true;
    if (!head.storing) {
      this.close();
      this.deps.onUncacheable(head);
    }
    for (const joined of [...this.joined]) this.admit(joined, head);
    if (head.storing) void this.store(head, responseTime);
  }

  /** Decides whether a waiter may share the response, and hands it its stream. */
  private admit(joined: Joined, head: FillHead): void {
    if (joined !== this.creator && !this.shareableWith(joined.waiter, head)) {
      this.drop(joined);
      joined.resolve({ kind: 'released' });
      return;
    }
    if (joined.waiter.headOnly) {
      joined.resolve({
        kind: 'shared',
        head,
        headers: this.headersFor(joined, head),
        body: null,
        collapsed: joined.collapsed,
      });
      this.drop(joined);
      return;
    }
    {
      const stream = new Readable({
        read: () => this.unblock(stream),
        destroy: (error, callback) => {
          this.drop(joined);
          callback(error);
        },
      });
      joined.stream = stream;
      // A late joiner first gets what has already arrived.
      let full = false;
      if (this.chunks) for (const chunk of this.chunks) full = !stream.push(chunk);
      if (this.complete) stream.push(null);
      else if (full) this.block(stream);
      joined.resolve({
        kind: 'shared',
        head,
        headers: this.headersFor(joined, head),
        body: stream,
        collapsed: joined.collapsed,
      });
    }
  }

  private headersFor(joined: Joined, head: FillHead): Headers {
    return joined === this.creator ? head.headers : head.sharedHeaders;
  }

  private shareableWith(waiter: Waiter, head: FillHead): boolean {
    if (!head.storing) return false;
    const names = head.decision.ok ? head.decision.varyNames : [];
    if (names.length === 0 && this.guessedNames.length === 0) return true;
    const theirs = variantKey(
      waiter.view.primary,
      names,
      varyValues(names, waiter.view.headers, waiter.view.runtime.vary),
    );
    return theirs.hash === head.entryKey;
  }

  private pump(body: Readable, head: FillHead, responseTime: number): void {
    // Flowing from here on, whether or not the first chunk was peeked at (see checkContentCoding).
    queueMicrotask(() => {
      if (this.blocked.size === 0) body.resume();
    });
    body.on('data', (chunk: Buffer) => {
      this.deps.onOriginBytes?.(this.view, chunk.length);
      if (this.chunks) {
        this.bytes += chunk.length;
        if (this.bytes > this.view.service.cache.maxObjectBytes) {
          // Over the limit: stop keeping the body; it streams through to those already here.
          this.chunks = undefined;
          this.close();
          this.deps.onUncacheable({ ...head, storing: false, decision: { ok: false, reason: 'too-large' } });
        } else {
          this.chunks.push(chunk);
        }
      }
      for (const joined of [...this.joined]) {
        const stream = joined.stream;
        if (stream && !stream.destroyed && !stream.push(chunk)) this.block(stream);
      }
    });
    const onEnd = () => {
      this.complete = true;
      for (const joined of [...this.joined]) joined.stream?.push(null);
      if (this.chunks && head.decision.ok) void this.store(head, responseTime);
      else this.close();
    };
    // An empty body may have ended already, while its first chunk was being peeked at: 'end' is
    // emitted once, and has been.
    if (body.readableEnded) onEnd();
    else body.on('end', onEnd);
    body.on('error', (error) => {
      this.chunks = undefined;
      for (const joined of [...this.joined]) joined.stream?.destroy(error);
      this.close();
    });
  }

  private async store(head: FillHead, responseTime: number): Promise<void> {
    if (!head.decision.ok || !this.chunks) return;
    const stored = storedPairs(head.sharedHeaders);
    const storedAt = this.deps.now();
    const meta: EntryMeta = {
      status: head.status,
      headers: stored,
      responseTime,
      storedAt,
      initialAgeSeconds: head.decision.initialAgeSeconds,
      staleAt: head.decision.staleAt,
      deleteAt: head.decision.deleteAt,
      varyNames: head.decision.varyNames,
      url: this.view.primary.readable,
      path:
        this.view.target.query === '' ? this.view.target.path : `${this.view.target.path}?${this.view.target.query}`,
      variant: head.variant,
      tags: tagsOf(head.sharedHeaders, this.view.runtime.tagHeaders),
    };
    const body = Buffer.concat(this.chunks, this.bytes);
    try {
      const from = this.refreshedFrom;
      if (from) {
        await this.storeRefreshed(from, head, meta);
        return;
      }
      const plan = await planWrites(this.view, head.entryKey, meta, body);
      if (plan.write) await this.deps.store.put(this.objectWrite(plan.write), storedAt);
      if (plan.image) this.deps.images?.enqueue(this.view, plan.image);
    } catch (error) {
      this.deps.onStoreError(error, this.view);
    } finally {
      this.close();
    }
  }

  private objectWrite(plan: ObjectPlan): EntryWrite {
    const cache = this.view.service.cache;
    return {
      service: this.view.service.id,
      primaryKey: this.view.primary.hash,
      ...plan,
      maxObjects: cache.maxObjects,
      maxBytes: cache.maxBytes,
      lfuHalfLifeMs: cache.lfuHalfLifeMs,
    };
  }

  /**
   * A 304 refreshes the whole object: every representation gets the update's headers (each keeping
   * its own coding, type, Vary and ETag) and the new freshness, so no representation is left to
   * revalidate on its own. Nothing is stored when the object is gone meanwhile (purged, evicted).
   */
  private async storeRefreshed(from: RefreshedFrom, head: FillHead, meta: EntryMeta): Promise<void> {
    const service = this.view.service.id;
    const stored = await this.deps.store.getObject(service, from.object, meta.storedAt);
    if (!stored) return;
    const omit = head.decision.ok ? head.decision.omitFields : [];
    const etag = typeof from.update.etag === 'string' ? from.update.etag : undefined;
    const representations = stored.representations.map((representation): Representation => {
      if (!('entry' in representation)) return representation;
      const { entry } = representation;
      const headers = storedPairs(endToEndHeaders(refreshedHeaders(entry, from.update), new Set(omit)));
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
            tags: tagsOf(headerMap(headers), this.view.runtime.tagHeaders),
            ...(derived && etag !== undefined ? { originEtag: etag } : {}),
          },
        },
      };
    });
    await this.deps.store.put(
      this.objectWrite({ object: from.object, varyNames: stored.varyNames, representations }),
      meta.storedAt,
    );
  }

  /**
   * A body whose Content-Encoding does not match its bytes is never passed on as it came: gzip
   * claimed over plain bytes loses the claim; gzip bytes (magic 1f 8b) of a text type without one
   * gain it. Only the first chunk is looked at (it is put back); Brotli has no magic number and is
   * checked when it is decoded at store time.
   */
  private async checkContentCoding(headers: Headers, body: Readable): Promise<void> {
    const claimed = declaredCoding(headers['content-encoding']);
    const type = mediaType(typeof headers['content-type'] === 'string' ? headers['content-type'] : undefined);
    const compress = this.view.service.transform.compress;
    if (claimed !== 'gzip' && !(claimed === 'identity' && compressible(type, compress.types))) return;
    const first = await peek(body);
    if (!first) return;
    const sniffed = sniffCoding(first);
    if (claimed === 'gzip' && sniffed !== 'gzip') delete headers['content-encoding'];
    else if (claimed === 'identity' && sniffed === 'gzip') headers['content-encoding'] = 'gzip';
  }

  private fail(error: CachefrontError): void {
    this.failure = error;
    this.close();
    for (const joined of [...this.joined]) joined.resolve({ kind: 'failed', error });
  }

  private block(stream: Readable): void {
    this.blocked.add(stream);
    this.originBody?.pause();
  }

  private unblock(stream: Readable): void {
    if (this.blocked.delete(stream) && this.blocked.size === 0) this.originBody?.resume();
  }

  /** A waiter left (released, finished or its client went away). */
  private drop(joined: Joined): void {
    const i = this.joined.indexOf(joined);
    if (i !== -1) this.joined.splice(i, 1);
    if (joined.stream) this.unblock(joined.stream);
    // Nobody left to read a body that will not be stored: stop downloading it.
    if (this.joined.length === 0 && !this.chunks && !this.complete) this.originBody?.destroy();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.deps.onClosed();
  }
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

/** A 304 that refreshed a stored representation: the object to refresh whole, and the update. */
interface RefreshedFrom {
  object: string;
  update: Headers;
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

/**
 * A stored representation's headers updated from a 304 (RFC 9111 §3.2 / §4.3.4). What makes the
 * representation itself — its Content-Encoding, Vary, an image's Content-Type, its own strong ETag
 * (the 304's is the origin's, suffixed for a derived representation) — stays its own.
 */
function refreshedHeaders(entry: CachedEntry, update: Headers): Headers {
  const own: Headers = { ...update };
  delete own['content-encoding'];
  delete own.vary;
  if (entry.meta.imageFormat !== undefined) delete own['content-type'];
  const merged = mergeNotModified(entry.meta.headers, own);
  const suffix = entry.meta.coding ?? entry.meta.imageFormat ?? 'identity';
  const etag = typeof update.etag === 'string' ? update.etag : undefined;
  if (suffix !== 'identity' && etag !== undefined) merged.etag = representationEtag(etag, suffix);
  return merged;
}

/**
 * The first chunk of a body, put back so the body still streams whole. Undefined when the body
 * ends or fails first.
 */
function peek(body: Readable): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const finish = (chunk: Buffer | undefined) => {
      body.off('readable', onReadable);
      body.off('end', onEnd);
      body.off('error', onEnd);
      resolve(chunk);
    };
    const onReadable = () => {
      const chunk = body.read() as Buffer | null;
      if (chunk === null) return; // not yet: wait for the next 'readable'
      body.unshift(chunk);
      finish(chunk);
    };
    const onEnd = () => finish(undefined);
    body.on('readable', onReadable);
    body.once('end', onEnd);
    body.once('error', onEnd);
  });
}
