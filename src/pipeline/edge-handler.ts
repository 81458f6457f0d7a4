/**
 * @module The request pipeline's driver, after Varnish's builtin.vcl:
 *
 *   RECV ─ unknown host / bad target ─────────────────────────────► SYNTH 421 / 400
 *    ├─ not GET/HEAD, or request no-store ───────────────────────► PASS (nothing stored)
 *    ├─ request no-cache / Pragma: no-cache ─────────────────────► FILL alone → Refresh
 *    └─ LOOKUP ─ hit ──────────────────────────────────────────────► DELIVER (Hit)
 *               ├─ stale, within stale-while-revalidate ───────────► DELIVER (Updating) + background FILL
 *               ├─ stale ─► FILL ─ origin failed / failure status ─► DELIVER stale (Stale) within stale-if-error
 *               ├─ hit-for-miss marker ────────────────────────────► FILL alone (no queueing)
 *               └─ miss ─► FILL (coalesced) ─ shared ───────────────► DELIVER stream (Miss/Bypass)
 *                                            ├─ released ───────────► FILL alone
 *                                            └─ origin failed ──────► SYNTH 502 / 504
 *   The origin's circuit open (origin/health) ─► stale entry if one may serve, else SYNTH 503.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough, Readable, Transform } from 'node:stream';
import { BodyTooLarge, type CachefrontError, Forbidden, NotCached, OriginDown, RateLimited } from '../errors.js';
import { metrics } from '../metrics/metrics.js';
import type { OriginClients, OriginResponse } from '../origin/client.js';
import type { Gate, OriginHealth } from '../origin/health.js';
import { endToEndHeaders, type Headers } from '../origin/hop-by-hop.js';
import { evaluateUse, requestDirectives } from '../policy/evaluate.js';
import { storedStaleWindows } from '../policy/stale.js';
import type { CachedEntry, CacheStore, RateLimitStore } from '../store/types.js';
import { contains } from '../waap/cidr.js';
import type { ForwardReason, XCacheStatus } from './cache-status.js';
import type { Coalescer } from './coalesce.js';
import { type ClientRequest, deliverEntry, deliverError, deliverStream } from './deliver.js';
import { exchangeNotes } from './exchange.js';
import type { Attachment, Waiter } from './fill.js';
import type { HitCounter } from './hit-counter.js';
import { invalidationTargets } from './invalidation.js';
import { lookup, storeFailure, unknownVariant, type VaryMemo } from './lookup.js';
import { originTarget, passRequestHeaders } from './origin-request.js';
import { type RecvDeps, type RequestView, recv } from './recv.js';
import type { BackgroundRefresh } from './refresh.js';

export interface EdgeDeps extends RecvDeps {
  store: CacheStore;
  origin: OriginClients;
  coalescer: Coalescer;
  varyMemo: VaryMemo;
  now: () => number;
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /** Request bodies larger than this are refused with 413 (edge.maxBodyBytes). */
  maxBodyBytes?: number;
  /** Shared request counters for services with a rate limit. */
  rateLimits?: RateLimitStore;
  /** Counts hits for LFU eviction. */
  hits?: HitCounter;
  /** The origins' circuit breakers; without it every request may go to the origin. */
  health?: OriginHealth;
  /** stale-while-revalidate's background refreshes; without it stale entries are revalidated inline. */
  refresh?: BackgroundRefresh;
}

const ALWAYS: Gate = { allowed: true, probe: false };

/** Bytes a stored representation saves over the original (compression, image optimisation). */
function savedBytes(entry: CachedEntry): { field: string; bytes: number } | undefined {
  const identity = entry.meta.identityBytes;
  if (identity === undefined || identity <= entry.body.length) return undefined;
  const field = entry.meta.imageFormat ? 'bytesSavedByImages' : 'bytesSavedByCompression';
  return { field, bytes: identity - entry.body.length };
}

/** The object a hit counts for (LFU, listing): one count whichever representation was served. */
function objectOf(found: { entry: CachedEntry; entryKey: string }): string {
  return found.entry.meta.object ?? found.entryKey;
}

function originGate(view: RequestView, deps: EdgeDeps): Promise<Gate> | Gate {
  return deps.health ? deps.health.gate(view.service) : ALWAYS;
}

/** 503 while the origin's circuit is open and nothing stored may answer instead. */
function deliverOriginDown(
  res: ServerResponse,
  view: RequestView,
  retryAfterMs: number,
  key: string | undefined,
): void {
  const seconds = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  res.setHeader('retry-after', seconds);
  deliverError(res, OriginDown(view.service.id, seconds), {
    xCacheStatus: 'Miss',
    cacheStatus: { detail: 'origin-circuit-open' },
    key,
  });
}

/** Methods never forwarded: TRACE reflects request headers (cookies, tokens) back into a page. */
const REFUSED_METHODS = new Set(['TRACE', 'TRACK', 'CONNECT']);
/** RFC 9110 §9.2.1 safe methods; any other method's success invalidates stored responses (RFC 9111 §4.4). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export async function handleEdgeRequest(req: IncomingMessage, res: ServerResponse, deps: EdgeDeps): Promise<void> {
  const received = recv(req, deps);
  if (!received.ok) return deliverError(res, received.error);
  const view = received.view;
  const exchange = exchangeNotes(res);
  exchange.service = view.service.id;
  exchange.key = view.primary.hash;
  exchange.path = view.target.path;
  const key = view.service.key.exposeKeyHeader ? view.primary.readable : undefined;
  const consumed = view.runtime.consumedHeaders;
  const refused = await guard(view, res, deps);
  if (refused) return deliverError(res, refused, { xCacheStatus: 'Bypass', cacheStatus: { fwd: 'bypass' }, key });

  if (REFUSED_METHODS.has(view.method)) {
    res.writeHead(405, { allow: 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS', 'content-length': '0' });
    return void res.end();
  }
  if (view.method !== 'GET' && view.method !== 'HEAD') {
    return pass(req, res, view, deps, 'method', 'method');
  }
  const directives = requestDirectives(view.headers);
  // §5.2.1.5 no-store: neither store nor serve this exchange from the cache.
  if (directives.has('no-store')) return pass(req, res, view, deps, 'bypass', 'request-no-store');

  const headOnly = view.method === 'HEAD';
  const client: ClientRequest = { method: view.method, headers: view.headers };
  const count = (field: string) => deps.hits?.count(view.service, field);
  const waiter: Waiter = { view, headOnly, earlyHints: (hints) => sendEarlyHints(res, hints) };
  const found = await lookup(view, deps.store, deps.varyMemo, deps.now()).catch((error: unknown) => {
    // A store that cannot answer must not take the site down: fetch (coalesced, like any miss),
    // and say so — in Cache-Status, the stats, the metrics and a throttled warning with counts.
    const failure = storeFailure(error);
    count(failure === 'store-timeout' ? 'storeTimeouts' : 'storeErrors');
    metrics.storeLookupFailures.inc({ service: view.service.id, reason: failure });
    deps.log.warn(
      { err: error, service: view.service.id, reason: failure },
      failure === 'store-timeout'
        ? 'cache lookup timed out; fetching from the origin'
        : 'cache lookup failed; fetching from the origin',
    );
    return unknownVariant(view, deps.varyMemo, failure);
  });
  const onlyIfCached = directives.has('only-if-cached');

  if (found.kind === 'hit') {
    const now = deps.now();
    const { meta } = found.entry;
    const use = evaluateUse(meta, directives, now);
    if (use.kind !== 'validate') {
      deps.hits?.hit(view.service, objectOf(found), found.entry.body.length, savedBytes(found.entry));
      return deliverEntry(
        res,
        found.entry,
        now,
        {
          xCacheStatus: 'Hit',
          cacheStatus: { hit: true, ttl: (meta.staleAt - now) / 1000 },
          key: key && found.readable,
          consumed,
        },
        client,
      );
    }
    // §5.2.1.7: only-if-cached never goes to the origin.
    if (onlyIfCached)
      return deliverError(res, NotCached(), { xCacheStatus: 'Miss', cacheStatus: { detail: 'only-if-cached' }, key });
    const windows = storedStaleWindows(meta.headers, view.service.cache.stale);
    /** Answers from the stale entry: within stale-while-revalidate, or because the origin fails. */
    const answerStale = (
      reason: 'while_revalidate' | 'error' | 'circuit_open',
      fwdStatus: number | undefined,
      detail: string,
    ) => {
      metrics.stale.inc({ service: view.service.id, reason });
      const outcome = reason === 'while_revalidate' ? 'hits' : 'staleServed';
      deps.hits?.hit(view.service, objectOf(found), found.entry.body.length, savedBytes(found.entry), outcome);
      const at = deps.now();
      const xCacheStatus = reason === 'while_revalidate' ? 'Updating' : 'Stale';
      return deliverEntry(
        res,
        found.entry,
        at,
        {
          xCacheStatus,
          cacheStatus: {
            hit: true,
            ...(xCacheStatus === 'Stale' ? { fwd: 'stale' as const, fwdStatus } : {}),
            ttl: (meta.staleAt - at) / 1000,
            detail,
          },
          key: key && found.readable,
          consumed,
        },
        client,
      );
    };
    const gate = await originGate(view, deps);
    // RFC 5861 §3: within stale-while-revalidate, answer now; one background request refreshes it.
    if (use.reason === 'stale' && now < meta.staleAt + windows.whileRevalidateMs && deps.refresh) {
      if (gate.allowed) deps.refresh.refresh(view, found.entryKey, found.names, found.entry);
      return answerStale('while_revalidate', undefined, 'stale-while-revalidate');
    }
    // RFC 5861 §4 stale-if-error (or the service's grace): may it answer if the origin fails?
    const fallback = now < Math.min(meta.staleAt + windows.ifErrorMs, meta.deleteAt);
    if (!gate.allowed) {
      if (!fallback) return deliverOriginDown(res, view, gate.retryAfterMs, key && found.readable);
      return answerStale('circuit_open', undefined, 'origin-circuit-open');
    }
    // Stale, or the client asked for validation: revalidate (conditionally when it has validators).
    const options = { stale: found.entry, unansweredOnly: use.reason === 'request' };
    const attachment = await deps.coalescer.join(waiter, found.entryKey, found.names, options);
    const fetchAlone = () => deps.coalescer.alone(waiter, found.names, options);
    const notes: DeliveryNotes = {
      count,
      fwd: use.reason === 'stale' ? 'stale' : 'request',
      storedStatus: 'Refresh',
      key: key && found.readable,
      consumed,
    };
    if (!fallback) return deliverAttachment(res, attachment, fetchAlone, client, notes);
    const settled = await settle(attachment, fetchAlone, view, found.entry);
    if (settled.kind === 'stale') return answerStale('error', settled.fwdStatus, settled.detail);
    return deliverAttachment(res, settled.attachment, fetchAlone, client, notes);
  }
  if (onlyIfCached)
    return deliverError(res, NotCached(), { xCacheStatus: 'Miss', cacheStatus: { detail: 'only-if-cached' }, key });
  const gate = await originGate(view, deps);
  if (!gate.allowed) return deliverOriginDown(res, view, gate.retryAfterMs, key);
  if (found.kind === 'uncacheable') {
    // Hit-for-miss: no queueing; the response may still be stored if it has become cacheable,
    // unless it is known to be too large to keep at all.
    const options = { mayStore: found.reason !== 'too-large' };
    const attachment = await deps.coalescer.alone(waiter, found.names, options);
    return deliverAttachment(res, attachment, () => deps.coalescer.alone(waiter, found.names, options), client, {
      count,
      fwd: 'miss',
      storedStatus: 'Miss',
      key,
      detail: found.reason,
      consumed,
    });
  }
  const attachment = await deps.coalescer.join(waiter, found.entryKey, found.names);
  return deliverAttachment(res, attachment, () => deps.coalescer.alone(waiter, found.names), client, {
    count,
    // RFC 9211: "miss" when the cache could not tell whether it had a response (the store failed).
    fwd: found.failure ? 'miss' : found.varyMiss ? 'vary-miss' : 'uri-miss',
    storedStatus: 'Miss',
    key: key && found.readable,
    ...(found.failure ? { detail: found.failure } : {}),
    consumed,
  });
}

interface DeliveryNotes {
  /** Adds to the service's shared stats (misses, bypasses). */
  count: (field: string) => void;
  fwd: ForwardReason;
  /** X-Cache-Status when the response is being stored. */
  storedStatus: XCacheStatus;
  key: string | undefined;
  detail?: string;
  consumed: readonly string[];
}

/**
 * Writes what a fill gave this request. A released waiter (the response could not be shared with
 * it) fetches on its own; a fill of its own always admits it.
 */
async function deliverAttachment(
  res: ServerResponse,
  attachment: Attachment,
  fetchAlone: () => Promise<Attachment>,
  client: ClientRequest,
  notes: DeliveryNotes,
): Promise<void> {
  const settled = attachment.kind === 'released' ? await fetchAlone() : attachment;
  if (settled.kind === 'released') throw new Error('a fill released the request that started it');
  if (settled.kind === 'failed') {
    return deliverError(res, settled.error, {
      xCacheStatus: 'Miss',
      cacheStatus: { fwd: notes.fwd, detail: settled.error.code },
      key: notes.key,
    });
  }
  const { head, headers, body, collapsed } = settled;
  notes.count(head.storing ? 'misses' : 'bypasses');
  const exchange = exchangeNotes(res);
  exchange.originMs = head.originMs;
  if (collapsed && exchange.service) metrics.coalesced.inc({ service: exchange.service });
  deliverStream(
    res,
    head.status,
    headers,
    body,
    {
      xCacheStatus: head.storing ? notes.storedStatus : 'Bypass',
      cacheStatus: {
        fwd: notes.fwd,
        fwdStatus: head.originStatus,
        stored: head.storing,
        collapsed,
        detail: head.decision.ok ? notes.detail : head.decision.reason,
      },
      key: notes.key,
      consumed: notes.consumed,
    },
    client,
  );
}

type Settled = { kind: 'fresh'; attachment: Attachment } | { kind: 'stale'; fwdStatus?: number; detail: string };

/**
 * What revalidating a stale entry gave, when that entry may stand in for a failing origin (RFC 5861
 * §4): a connection failure, a timeout, a failure status (origin.failureStatuses) or a body cut
 * short all mean "serve the stale entry". So that a body cut short can still be replaced, the new
 * body is read to its end before anything is sent — bounded by maxObjectBytes, past which it streams.
 */
async function settle(
  attachment: Attachment,
  fetchAlone: () => Promise<Attachment>,
  view: RequestView,
  stale: CachedEntry,
): Promise<Settled> {
  const settled = attachment.kind === 'released' ? await fetchAlone() : attachment;
  if (settled.kind === 'failed') return { kind: 'stale', detail: settled.error.code };
  if (settled.kind !== 'shared') return { kind: 'fresh', attachment: settled };
  const { head, body } = settled;
  if (view.service.origin.failureStatuses.includes(head.originStatus)) {
    body?.destroy();
    return { kind: 'stale', fwdStatus: head.originStatus, detail: 'origin-error' };
  }
  if (body === null || head.originStatus === 304) return { kind: 'fresh', attachment: settled };
  const read = await readAhead(body, Math.max(view.service.cache.maxObjectBytes, stale.body.length));
  if (!read) return { kind: 'stale', fwdStatus: head.originStatus, detail: 'origin-body-error' };
  return { kind: 'fresh', attachment: { ...settled, body: read } };
}

/**
 * Reads a body to its end (then replays it), or until `limit` bytes (then replays those and
 * streams the rest). Undefined when the body fails before either.
 */
function readAhead(body: Readable, limit: number): Promise<Readable | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const done = () => {
      body.off('data', onData);
      body.off('end', onEnd);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      bytes += chunk.length;
      if (bytes <= limit) return;
      done();
      body.pause();
      const rest = new PassThrough();
      for (const c of chunks) rest.write(c);
      body.on('error', (error) => rest.destroy(error));
      body.pipe(rest);
      resolve(rest);
    };
    const onEnd = () => {
      done();
      resolve(Readable.from(chunks, { objectMode: false }));
    };
    body.on('data', onData);
    body.once('end', onEnd);
    // Stays attached: an error after the hand-over must never go unheard.
    body.on('error', () => {
      done();
      resolve(undefined);
    });
  });
}

/** PASS: forward the request as it is (body streamed), store nothing. */
async function pass(
  req: IncomingMessage,
  res: ServerResponse,
  view: RequestView,
  deps: EdgeDeps,
  fwd: ForwardReason,
  detail: string,
): Promise<void> {
  const key = view.service.key.exposeKeyHeader ? view.primary.readable : undefined;
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  deps.hits?.count(view.service, 'bypasses');
  const gate = await originGate(view, deps);
  if (!gate.allowed) {
    req.resume(); // the request body is not wanted
    return deliverOriginDown(res, view, gate.retryAfterMs, key);
  }
  const limit = deps.maxBodyBytes ?? Number.POSITIVE_INFINITY;
  if (Number(req.headers['content-length'] ?? 0) > limit) {
    // Refused before reading a byte of it; the connection closes rather than drain the body.
    res.setHeader('connection', 'close');
    return deliverError(res, BodyTooLarge(String(limit)), {
      xCacheStatus: 'Bypass',
      cacheStatus: { fwd, detail },
      key,
    });
  }
  let response: OriginResponse;
  const asked = performance.now();
  try {
    response = await deps.origin.request(view.service, {
      method: view.method,
      target: originTarget(view),
      headers: passRequestHeaders(view),
      body: hasBody ? limitBody(req, limit) : null,
      onInfo: (info) => {
        if (info.statusCode === 103) sendEarlyHints(res, endToEndHeaders(info.headers));
      },
    });
  } catch (error) {
    const tooLarge = (error as { cause?: unknown }).cause instanceof BodyLimitError;
    if (tooLarge) res.setHeader('connection', 'close');
    const refused = tooLarge ? BodyTooLarge(String(limit)) : (error as CachefrontError);
    return deliverError(res, refused, { xCacheStatus: 'Bypass', cacheStatus: { fwd, detail }, key });
  }
  exchangeNotes(res).originMs = performance.now() - asked;
  // RFC 9111 §4.4: a successful unsafe request invalidates what is stored for the target URI and
  // for same-origin Location / Content-Location, before the client can ask again.
  if (!SAFE_METHODS.has(view.method) && response.status >= 200 && response.status < 400) {
    await invalidate(view, response.headers, deps);
  }
  // Counted as it streams (the listener is added in the same tick deliverStream starts reading).
  const hits = deps.hits;
  if (hits) response.body.on('data', (chunk: Buffer) => hits.count(view.service, 'bytesFromOrigin', chunk.length));
  deliverStream(
    res,
    response.status,
    endToEndHeaders(response.headers),
    response.body,
    {
      xCacheStatus: 'Bypass',
      cacheStatus: { fwd, fwdStatus: response.status, detail },
      key,
      consumed: view.runtime.consumedHeaders,
    },
    undefined,
  );
}

/**
 * WAAP checks before anything else: the service's deny and allow lists, then its rate limit,
 * counted per client address across all edge nodes. A rate-limit store that cannot answer lets the
 * request through (failing closed would turn a Redis hiccup into an outage).
 */
async function guard(view: RequestView, res: ServerResponse, deps: EdgeDeps): Promise<CachefrontError | undefined> {
  const { allow, deny } = view.runtime;
  const limit = view.service.waap.rateLimit;
  if (!allow && !deny && !limit) return undefined;
  const client = view.clientIp;
  if (deny && contains(deny, client)) return Forbidden();
  if (allow && !contains(allow, client)) return Forbidden();
  if (!limit || !deps.rateLimits) return undefined;
  try {
    const decision = await deps.rateLimits.hit(view.service.id, client, limit.requests, limit.windowMs, deps.now());
    if (decision.allowed) return undefined;
    res.setHeader('retry-after', String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))));
    return RateLimited(String(limit.requests), String(limit.windowMs));
  } catch (error) {
    deps.log.warn({ err: error, service: view.service.id }, 'rate limit check failed; request let through');
    return undefined;
  }
}

/** A client's request body over edge.maxBodyBytes (not the origin's fault). */
export class BodyLimitError extends Error {}

/** A chunked body is counted as it streams to the origin and cut off past the limit. */
function limitBody(body: IncomingMessage, limit: number): Readable {
  if (!Number.isFinite(limit)) return body;
  let seen = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      callback(seen > limit ? new BodyLimitError('request body over the limit') : null, chunk);
    },
  });
  body.on('error', (error) => counted.destroy(error));
  return body.pipe(counted);
}

/** RFC 8297: 103 Early Hints let the client start fetching linked resources while the origin works. */
function sendEarlyHints(res: ServerResponse, hints: Headers): void {
  if (res.headersSent || hints.link === undefined) return;
  res.writeEarlyHints(hints as Record<string, string | string[]>);
}

async function invalidate(view: RequestView, headers: Headers, deps: EdgeDeps): Promise<void> {
  const targets = invalidationTargets(view, headers);
  try {
    await Promise.all(targets.map((primary) => deps.store.invalidate(view.service.id, primary.hash)));
  } catch (error) {
    deps.log.warn({ err: error, service: view.service.id }, 'invalidating stored responses failed');
  }
}
