/**
 * @module A fill: one origin fetch shared by the requests waiting for it. It asks the origin
 * (conditionally, with a stored entry's validators), lets response-decision say what the answer
 * is, hands each waiter its stream through a fan-out, and gives the store writer its own. A
 * response that may not be shared — not storable, or varying on a header a waiter differs in — goes
 * only to the request that started the fill; the others are released to fetch on their own.
 */
import type { Readable } from 'node:stream';
import type { CachefrontError } from '../errors.js';
import type { OriginClients } from '../origin/client.js';
import type { Headers } from '../origin/hop-by-hop.js';
import { endToEndHeaders } from '../origin/hop-by-hop.js';
import { headerMap, revalidationHeaders } from '../policy/conditional.js';
import { formatHttpDate } from '../policy/http-date.js';
import { mediaType } from '../store/entry-index.js';
import type { CachedEntry, CacheStore, FillOutcome, PurgeGuard } from '../store/types.js';
import { compressible, declaredCoding, sniffCoding } from '../transform/compress.js';
import { ChunkProgress, followChunks, readChunks } from './chunk-reader.js';
import { FanOut } from './fan-out.js';
import type { HitCounter } from './hit-counter.js';
import type { HitForMiss } from './hit-for-miss.js';
import { fillRequestHeaders, originTarget } from './origin-request.js';
import type { RequestView } from './recv.js';
import { decideResponse, type FillHead, mayShare } from './response-decision.js';
import type { StoreWriter } from './store-writer.js';

export type { FillHead } from './response-decision.js';

export type Attachment =
  | { kind: 'shared'; head: FillHead; headers: Headers; body: Readable | null; collapsed: boolean }
  | { kind: 'released' }
  | { kind: 'failed'; error: CachefrontError }
  /**
   * Another node fetched and stored it (pipeline/fleet-fill.ts): read it from the store — once for
   * every waiter of this node, through `once`, which runs the first read it is given and hands
   * its promise to the rest.
   */
  | { kind: 'stored'; once: <T>(read: () => Promise<T>) => Promise<T> };

export interface Waiter {
  view: RequestView;
  /** HEAD requests need the head only. */
  headOnly: boolean;
  /** Forwards 103 Early Hints to the client (only the request that started the fill gets them). */
  earlyHints?: (headers: Headers) => void;
}

export interface FillDeps {
  origin: OriginClients;
  writer: StoreWriter;
  hitForMiss: HitForMiss;
  now: () => number;
  /** Counts the body bytes received from the origin (the service's egress stats). */
  hits?: HitCounter;
  /** Where chunked bodies are read (a 304 confirming a large stored object). */
  chunks?: Pick<CacheStore, 'getChunk'>;
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
  /** The purge counters the lookup read: a purge since then wins, and nothing is stored. */
  guard?: PurgeGuard | undefined;
}

interface Joined {
  waiter: Waiter;
  resolve: (attachment: Attachment) => void;
  collapsed: boolean;
}

export class Fill {
  private head: FillHead | undefined;
  private failure: CachefrontError | undefined;
  private readonly joined: Joined[] = [];
  /** The request that started the fill: the only one an unshareable response may go to. */
  private creator: Joined | undefined;
  private body: FanOut | undefined;
  /**
   * The chunks of a large body as they land: late joiners follow them (chunk-reader.ts), and so
   * do the other nodes waiting for this fill (fleet-fill.ts).
   */
  readonly progress = new ChunkProgress();
  private closed = false;

  constructor(
    private readonly view: RequestView,
    /** The Vary names the fill's key was computed with (the edge's best knowledge when it started). */
    private readonly guessedNames: readonly string[],
    private readonly deps: FillDeps,
    private readonly options: FillOptions,
    /**
     * Its coalescing id (undefined for a fetch made alone), and what to call once it takes no more
     * waiters, with how it ended: stored, not stored, or failed.
     */
    /** `variant`: the id hit-for-miss remembers uncacheable variants by (HitForMiss.id). */
    private readonly coalesced: { id: string; variant: string; onClosed: (outcome: FillOutcome) => void } | undefined,
  ) {}

  /** Starts the origin fetch; the first waiter should be attached before. */
  start(): this {
    void this.run();
    return this;
  }

  /** True once the origin's response head has arrived. */
  get answered(): boolean {
    return this.head !== undefined || this.failure !== undefined;
  }

  /** Requests attached to this fill and not yet done with it. */
  get waiting(): number {
    return this.joined.length;
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
    const conditional = stale ? validators(stale) : {};
    let response: Awaited<ReturnType<OriginClients['request']>>;
    try {
      response = await this.deps.origin.request(this.view.service, {
        method: 'GET',
        target: originTarget(this.view),
        headers: { ...fillRequestHeaders(this.view, this.guessedNames), ...conditional },
        upstream: this.view.upstream,
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
    if (response.status === 304)
      response.body.resume(); // no body; let undici reuse the connection
    else await this.checkContentCoding(headers, response.body);
    const decision = decideResponse(
      {
        view: this.view,
        guessedNames: this.guessedNames,
        stale,
        conditional: Object.keys(conditional).length > 0,
        mayStore: this.options.mayStore !== false,
      },
      { status: response.status, headers, requestTime, responseTime },
    );
    if (decision.kind === 'refetch') return this.run(false);
    const head = decision.head;
    const stored = decision.kind === 'not-modified' ? (stale as CachedEntry) : undefined;
    this.body = stored
      ? storedBody(this.deps, this.view, stored)
      : FanOut.of(response.body, head.storing ? replayLimit(this.view, head.maxObjectBytes, headers) : 0, (bytes) =>
          this.deps.hits?.count(this.view.service, 'bytesFromOrigin', bytes),
        );
    this.head = head;
    if (!head.storing) this.uncacheable(head);
    for (const joined of [...this.joined]) this.admit(joined, head);
    if (!head.storing) return this.body.closeIfUnread();
    const written = stored
      ? this.deps.writer.refresh(
          this.view,
          head,
          stored.meta.object ?? head.entryKey,
          (decision as { update: Headers }).update,
          responseTime,
          this.options.guard,
        )
      : this.deps.writer.write(
          this.view,
          head,
          this.body.subscribe() as Readable,
          responseTime,
          this.options.guard,
          this.progress,
        );
    const outcome = await written;
    if (outcome === 'too-large') {
      this.uncacheable({ ...head, storing: false, decision: { ok: false, reason: 'too-large' } });
    }
    // Overtaken by a purge: what was fetched may predate it, so waiters elsewhere fetch anew.
    this.close(outcome === 'stored' ? 'stored' : outcome === 'overtaken' ? 'not-stored' : 'failed');
  }

  /**
   * A request joining after the kept bytes were let go: it follows the chunks the store writer is
   * writing, from the first, rather than fetching the object again. Undefined when the body is not
   * being chunked (then it fetches alone).
   */
  private follow(): Readable | undefined {
    const { progress } = this;
    if (progress.id === undefined || progress.ended === 'failed' || !this.deps.chunks) return undefined;
    return followChunks(this.deps.chunks, this.view.service.id, this.view.primary.hash, progress);
  }

  /** The response will not be stored: no more waiters, and hit-for-miss remembers it. */
  private uncacheable(head: FillHead): void {
    this.close('not-stored');
    this.deps.hitForMiss.record(this.view, head, this.coalesced?.variant);
  }

  /** Decides whether a waiter may share the response, and hands it its stream. */
  private admit(joined: Joined, head: FillHead): void {
    this.drop(joined);
    if (joined !== this.creator && !mayShare(joined.waiter.view, head, this.guessedNames)) {
      joined.resolve({ kind: 'released' });
      return;
    }
    const body = joined.waiter.headOnly ? null : (this.body?.subscribe() ?? this.follow());
    // A late joiner after the start of the body was let go (it grew past the limit): fetch alone.
    if (body === undefined) {
      joined.resolve({ kind: 'released' });
      return;
    }
    const headers = joined === this.creator ? head.headers : head.sharedHeaders;
    joined.resolve({ kind: 'shared', head, headers, body, collapsed: joined.collapsed });
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
    this.close('failed');
    for (const joined of [...this.joined]) joined.resolve({ kind: 'failed', error });
    this.joined.length = 0;
  }

  /** A waiter has its answer: it no longer counts as waiting. */
  private drop(joined: Joined): void {
    const i = this.joined.indexOf(joined);
    if (i !== -1) this.joined.splice(i, 1);
  }

  /** No more waiters; the first outcome given is how the fill ended. */
  private close(outcome: FillOutcome): void {
    if (this.closed) return;
    this.closed = true;
    this.coalesced?.onClosed(outcome);
  }
}

/**
 * How much of a body being fetched is kept for requests that join the fill late: all of it up to
 * 8 MiB (or the chunking threshold, if larger), and for a body announced past the threshold only
 * up to the threshold: never a whole large object. A request joining a large fill after that
 * fetches alone.
 */
export function replayLimit(view: RequestView, maxObjectBytes: number, headers?: Headers): number {
  const { aboveBytes } = view.service.cache.chunks;
  // A body announced as large (it will be chunked) keeps no more than the threshold.
  const declared = Number(headers?.['content-length']);
  if (declared > aboveBytes) return Math.min(maxObjectBytes, aboveBytes);
  return Math.min(maxObjectBytes, Math.max(aboveBytes, MAX_REPLAY_BYTES));
}

const MAX_REPLAY_BYTES = 8 * 1024 * 1024;

/** A stored body a 304 confirmed, for the fill's waiters: whole, or read from its chunks. */
function storedBody(deps: FillDeps, view: RequestView, stored: CachedEntry): FanOut {
  const manifest = stored.meta.chunks;
  if (!manifest || !deps.chunks) return FanOut.whole(stored.body);
  const body = readChunks(deps.chunks, view.service.id, view.primary.hash, manifest, 0, manifest.bytes - 1);
  return FanOut.of(body, replayLimit(view, manifest.bytes));
}

/** RFC 9111 §4.3.1: revalidate with the stored validators, so an unchanged body is not sent again. */
function validators(stale: CachedEntry): Headers {
  const stored = headerMap(stale.meta.headers);
  // A representation the edge made carries its own ETag; the origin knows the one it sent.
  if (stale.meta.originEtag !== undefined) stored.etag = stale.meta.originEtag;
  return revalidationHeaders(stored);
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
