/**
 * @module The request pipeline's driver, after Varnish's builtin.vcl. Each step is a module; the
 * driver only carries out their decisions and notes the states a request passed through (the
 * access log's debug lines, `cachefront explain`).
 *
 *   RECV ─ unknown host / bad target ──────────────────────────► SYNTH 421 / 400      (recv)
 *    ├─ denied / rate limited ──────────────────────────────────► SYNTH 403 / 429      (guard)
 *    ├─ not GET/HEAD, or request no-store ──────────────────────► PASS                 (pass)
 *    └─ LOOKUP, then one decision on what it found                                   (lookup, stored-decision)
 *        ├─ fresh ───────────────────────────────────────────────► DELIVER (Hit)
 *        ├─ not-cached (only-if-cached) ─────────────────────────► SYNTH 504
 *        ├─ serve-stale-and-refresh ─────────────────────────────► DELIVER (Updating) + background FILL (refresh)
 *        ├─ revalidate ─► FILL ─ origin failed, within stale-if-error ► DELIVER stale (Stale)   (stale-if-error)
 *        │                     └─ answered ─────────────────────► DELIVER stream (Refresh/Bypass)
 *        └─ miss ─► FILL (coalesced; alone after a hit-for-miss marker)                (coalesce, fill)
 *                    ├─ shared ──────────────────────────────────► DELIVER stream (Miss/Bypass)
 *                    ├─ released ────────────────────────────────► FILL alone
 *                    └─ origin failed ───────────────────────────► SYNTH 502 / 504
 *   The origin's circuit open (origin/health) ─► stale entry if it may serve, else SYNTH 503.
 *   What the origin's answer means (store how, for whom, how long) is response-decision's; the
 *   fill fans it out (fan-out) and the store writer keeps it (store-writer).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NotCached, QuotaFull } from '../errors.js';
import { fetchView } from '../fetch/fetch-view.js';
import { metrics } from '../metrics/metrics.js';
import { requestDirectives } from '../policy/evaluate.js';
import { single } from '../policy/freshness.js';
import { decideRange } from '../policy/range.js';
import type { CachedEntry, ChunkManifest } from '../store/types.js';
import type { ForwardReason, XCacheStatus } from './cache-status.js';
import { type ChunkedBody, chunkedBody, firstChunkIndex, type ReadChunk } from './chunk-reader.js';
import { type ClientRequest, deliverEntry, deliverError, deliverStream, sendEarlyHints } from './deliver.js';
import { deliverOriginDown, type EdgeDeps, originGate } from './edge-deps.js';
import { exchangeNotes } from './exchange.js';
import type { Attachment, FillOptions, Waiter } from './fill.js';
import { guard, guarded } from './guard.js';
import { type LookupResult, lookup, lookupLocal, storeFailure, unknownVariant } from './lookup.js';
import { pass } from './pass.js';
import { type RequestView, recv } from './recv.js';
import { settle } from './stale-if-error.js';
import { decideStored } from './stored-decision.js';

export type { EdgeDeps } from './edge-deps.js';

/** The state each lookup outcome is noted as (constant strings: nothing is built per request). */
const LOOKUP_STATE = { hit: 'lookup:hit', miss: 'lookup:miss', uncacheable: 'lookup:uncacheable' } as const;

/** Methods never forwarded: TRACE reflects request headers (cookies, tokens) back into a page. */
const REFUSED_METHODS = new Set(['TRACE', 'TRACK', 'CONNECT']);

/** One request on its way through the pipeline: what every step needs, and the states it passed. */
interface Exchange {
  res: ServerResponse;
  view: RequestView;
  deps: EdgeDeps;
  client: ClientRequest;
  /** What the coalescer is given: made on the first fill, never on a hit. */
  waiter: () => Waiter;
  /** The readable key for X-Cache-Key, when the service exposes it. */
  key: string | undefined;
  states: string[];
  /** A chunked hit's first chunk, read before anything is written (withFirstChunk). */
  first?: ReadChunk;
}

/**
 * A plain-HTTP request to a service that wants HTTPS: 301 for GET and HEAD, 308 (method and body
 * kept) for the rest, to the same host (without a port: the HTTPS side is on 443 to the world) and
 * the target as sent. The body of a request is not read.
 */
function redirectToHttps(req: IncomingMessage, res: ServerResponse, view: RequestView): void {
  const host = view.authority.replace(/:\d+$/, '');
  const target = req.url?.startsWith('/')
    ? req.url
    : `${view.target.path}${view.target.query ? `?${view.target.query}` : ''}`;
  const notes = exchangeNotes(res);
  notes.cacheStatus = 'Bypass';
  req.resume();
  res.writeHead(view.method === 'GET' || view.method === 'HEAD' ? 301 : 308, {
    location: `https://${host}${target}`,
    'content-length': '0',
    'x-cache-status': 'Bypass',
    'cache-status': 'cachefront; fwd=bypass; detail=https-redirect',
  });
  res.end();
}

export async function handleEdgeRequest(req: IncomingMessage, res: ServerResponse, deps: EdgeDeps): Promise<void> {
  const notes = exchangeNotes(res);
  const received = recv(req, deps);
  if (!received.ok) return deliverError(res, received.error);
  let view = received.view;
  notes.service = view.service.id;
  notes.path = view.target.path;
  const states = ['recv'];
  notes.states = states;
  if (view.scheme === 'http' && view.service.tls.redirectHttp) {
    states.push('synth:https-redirect');
    return redirectToHttps(req, res, view);
  }
  // Fetch-by-URL: from here on, the request is for the URL it names (fetch/fetch-view.ts).
  const fetchRoute = view.runtime.fetch;
  if (fetchRoute?.paths.has(view.target.path)) {
    const fetched = fetchView(req, fetchRoute, view);
    if (!fetched.ok) {
      states.push('synth:fetch-refused');
      metrics.fetchRefusals.inc({ service: view.service.id, reason: fetched.reason });
      if (fetched.reason !== 'request') {
        deps.log.warn(
          { service: view.service.id, reason: fetched.reason, client: view.clientIp, detail: fetched.error.message },
          'fetch-by-URL refused',
        );
      }
      req.resume();
      return deliverError(res, fetched.error, { xCacheStatus: 'Bypass', cacheStatus: { fwd: 'bypass' } });
    }
    states.push('fetch');
    notes.sandbox = true;
    view = fetched.view;
  }
  notes.key = view.primary.hash;
  if (view.scheme === 'https' && view.runtime.hsts) res.setHeader('strict-transport-security', view.runtime.hsts);
  const key = view.service.key.exposeKeyHeader ? view.primary.readable : undefined;
  const refused = guarded(view) ? await guard(view, res, deps) : undefined;
  if (refused) {
    states.push('guard:refused');
    return deliverError(res, refused, { xCacheStatus: 'Bypass', cacheStatus: { fwd: 'bypass' }, key });
  }
  if (REFUSED_METHODS.has(view.method)) {
    states.push('synth:405');
    res.writeHead(405, { allow: 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS', 'content-length': '0' });
    return void res.end();
  }
  if (view.method !== 'GET' && view.method !== 'HEAD') {
    states.push('pass');
    return pass(req, res, view, deps, 'method', 'method');
  }
  const directives = requestDirectives(view.headers);
  // §5.2.1.5 no-store: neither store nor serve this exchange from the cache.
  if (directives.has('no-store')) {
    states.push('pass');
    return pass(req, res, view, deps, 'bypass', 'request-no-store');
  }
  // An operator's rule: this request neither looks up nor stores.
  if (view.rules.request?.rule.bypass) {
    states.push('pass:rule');
    return pass(req, res, view, deps, 'bypass', `rule ${view.rules.request.name}`);
  }
  // Not a getter: an accessor in an object literal gives each object a hidden class of its own
  // (see recv.ts).
  let waiter: Waiter | undefined;
  const exchange: Exchange = {
    res,
    view,
    deps,
    client: { method: view.method, headers: view.headers },
    waiter: () => {
      waiter ??= { view, headOnly: view.method === 'HEAD', earlyHints: (hints) => sendEarlyHints(res, hints) };
      return waiter;
    },
    key,
    states,
  };
  // A hit this node holds is answered in the turn the request arrived; the rest ask the store.
  let found =
    lookupLocal(view, deps.store, deps.varyMemo, deps.now()) ??
    (await lookup(view, deps.store, deps.varyMemo, deps.now()).catch((error: unknown) =>
      lookupFailed(exchange, error),
    ));
  if (found.kind === 'hit' && found.entry.meta.chunks && view.method !== 'HEAD') {
    found = await withFirstChunk(exchange, found);
  }
  states.push(LOOKUP_STATE[found.kind]);
  const now = deps.now();
  const decision = decideStored({
    meta: found.kind === 'hit' ? found.entry.meta : undefined,
    uncacheable: found.kind === 'uncacheable',
    directives,
    now,
    stale: view.service.cache.stale,
    backgroundRefresh: deps.refresh !== undefined,
  });
  states.push(decision.kind);
  if (decision.kind === 'not-cached') {
    return deliverError(res, NotCached(), {
      xCacheStatus: 'Miss',
      cacheStatus: { detail: 'only-if-cached' },
      key,
    });
  }
  if (found.kind === 'hit') {
    if (decision.kind === 'fresh') return deliverStored(exchange, found, 'Hit', now);
    const gate = await originGate(view, deps);
    if (decision.kind === 'serve-stale-and-refresh') {
      if (gate.allowed) {
        states.push('refresh');
        deps.refresh?.refresh(view, found.entryKey, found.names, found.entry);
      }
      return deliverStale(exchange, found, 'while_revalidate', undefined, 'stale-while-revalidate');
    }
    if (decision.kind !== 'revalidate') throw new Error(`a hit cannot be decided ${decision.kind}`);
    const staleMayAnswer = decision.staleIfErrorUntil > now;
    if (!gate.allowed) {
      states.push('origin:circuit-open');
      if (!staleMayAnswer) return deliverOriginDown(res, view, gate.retryAfterMs, key && found.readable);
      return deliverStale(exchange, found, 'circuit_open', undefined, 'origin-circuit-open');
    }
    // Stale, or the client asked for validation: revalidate (conditionally when it has validators).
    const options: FillOptions = {
      stale: found.entry,
      unansweredOnly: decision.reason === 'request',
      guard: found.guard,
    };
    const attachment = await deps.coalescer.join(exchange.waiter(), found.entryKey, found.names, options);
    const notes: DeliveryNotes = {
      fwd: decision.reason,
      storedStatus: 'Refresh',
      key: key && found.readable,
    };
    const fetchAlone = () => deps.coalescer.alone(exchange.waiter(), found.names, options);
    if (!staleMayAnswer) return deliverFill(exchange, attachment, fetchAlone, notes);
    const settled = await settle(attachment, fetchAlone, view, found.entry);
    if (settled.kind === 'stale') return deliverStale(exchange, found, 'error', settled.fwdStatus, settled.detail);
    return deliverFill(exchange, settled.attachment, fetchAlone, notes);
  }
  const gate = await originGate(view, deps);
  if (!gate.allowed) {
    states.push('origin:circuit-open');
    return deliverOriginDown(res, view, gate.retryAfterMs, key);
  }
  if (found.kind === 'uncacheable') {
    // Hit-for-miss: no queueing; the response may still be stored if it has become cacheable,
    // unless it is known to be too large to keep at all.
    const options: FillOptions = { mayStore: found.reason !== 'too-large', guard: found.guard };
    const fetchAlone = () => deps.coalescer.alone(exchange.waiter(), found.names, options);
    return deliverFill(exchange, await fetchAlone(), fetchAlone, {
      fwd: 'miss',
      storedStatus: 'Miss',
      key,
      detail: found.reason,
    });
  }
  if (found.kind !== 'miss') throw new Error('unreachable');
  // A service past its byte quota stores nothing new until its clean-up: refused, or passed.
  if (deps.quota?.full(view.service)) {
    const action = view.service.cache.quota.whenFull;
    metrics.quotaRefusals.inc({ service: view.service.id, action });
    states.push(`quota:${action}`);
    if (action === 'pass') return pass(req, res, view, deps, 'bypass', 'quota-full');
    return deliverError(res, QuotaFull(view.service.id), {
      xCacheStatus: 'Bypass',
      cacheStatus: { fwd: 'bypass', detail: 'quota-full' },
      key,
    });
  }
  const options: FillOptions = { guard: found.guard };
  const attachment = await deps.coalescer.join(exchange.waiter(), found.entryKey, found.names, options);
  return deliverFill(exchange, attachment, () => deps.coalescer.alone(exchange.waiter(), found.names, options), {
    // RFC 9211: "miss" when the cache could not tell whether it had a response (the store failed).
    fwd: found.failure ? 'miss' : found.varyMiss ? 'vary-miss' : 'uri-miss',
    storedStatus: 'Miss',
    key: key && found.readable,
    ...(found.failure ? { detail: found.failure } : {}),
  });
}

/**
 * A store that cannot answer must not take the site down: fetch (coalesced, like any miss), and
 * say so — in Cache-Status, the stats, the metrics and a throttled warning with counts.
 */
function lookupFailed(exchange: Exchange, error: unknown): LookupResult {
  const { view, deps } = exchange;
  const failure = storeFailure(error);
  deps.hits?.count(view.service, failure === 'store-timeout' ? 'storeTimeouts' : 'storeErrors');
  metrics.storeLookupFailures.inc({ service: view.service.id, reason: failure });
  deps.log.warn(
    { err: error, service: view.service.id, reason: failure },
    failure === 'store-timeout'
      ? 'cache lookup timed out; fetching from the origin'
      : 'cache lookup failed; fetching from the origin',
  );
  return unknownVariant(view, deps.varyMemo, failure);
}

type Found = Extract<LookupResult, { kind: 'hit' }>;

/** Bytes a stored representation saves over the original (compression, image optimisation). */
function savedBytes(entry: CachedEntry): { field: string; bytes: number } | undefined {
  const identity = entry.meta.identityBytes;
  if (identity === undefined || identity <= entry.body.length) return undefined;
  const field = entry.meta.imageFormat ? 'bytesSavedByImages' : 'bytesSavedByCompression';
  return { field, bytes: identity - entry.body.length };
}

/** The body's length, chunked or not. */
function bodyLength(entry: CachedEntry): number {
  return entry.meta.chunks?.bytes ?? entry.body.length;
}

/** A chunked entry's body, read from the store as it is sent (pipeline/chunk-reader.ts). */
function chunksOf(exchange: Exchange, found: Found): ChunkedBody | undefined {
  const { deps, view } = exchange;
  const manifest = found.entry.meta.chunks;
  if (!manifest) return undefined;
  return chunkedBody(deps.store, view.service.id, view.primary.hash, manifest, {
    first: exchange.first,
    onMissing: () => removeBroken(exchange, found),
  });
}

/**
 * A chunked hit reads the chunk its response starts in before anything is written: one that is gone
 * (a purge, or Redis' own eviction, got there first) makes the request a miss rather than a cut
 * response, and the object is removed so that no one else finds it half there.
 */
async function withFirstChunk(exchange: Exchange, found: Found): Promise<LookupResult> {
  const { view, deps } = exchange;
  const manifest = found.entry.meta.chunks as ChunkManifest;
  const range = view.method === 'GET' ? single(view.headers, 'range') : undefined;
  const decision = range === undefined ? undefined : decideRange(range, manifest.bytes);
  const index = firstChunkIndex(manifest, decision?.kind === 'partial' ? decision.range.start : undefined);
  const bytes = await deps.store
    .getChunk(view.service.id, view.primary.hash, manifest.id, index)
    .catch(() => undefined);
  if (bytes) {
    exchange.first = { index, bytes };
    return found;
  }
  removeBroken(exchange, found);
  // No purge guard: the removal above must not stop the fill from storing the object again.
  return { kind: 'miss', entryKey: found.entryKey, names: found.names, readable: found.readable, varyMiss: false };
}

/** A chunked object missing a chunk: removed (every node's L1 too), so the next request refetches it. */
function removeBroken(exchange: Exchange, found: Found): void {
  const { view, deps } = exchange;
  const object = found.entry.meta.object ?? found.entryKey;
  deps.log.warn(
    { service: view.service.id, key: found.entryKey },
    'a stored large object lost a chunk; removed, it is fetched again',
  );
  deps.store.purgeEntries(view.service.id, [object], false, deps.now()).catch((error: unknown) => {
    deps.log.warn({ err: error, service: view.service.id }, 'removing a large object that lost a chunk failed');
  });
}

/** DELIVER from the store: a fresh hit. */
function deliverStored(exchange: Exchange, found: Found, xCacheStatus: 'Hit', now: number): void {
  const { res, view, deps, key } = exchange;
  const { entry } = found;
  // One count for the object (LFU, listing), whichever representation was served.
  deps.hits?.hit(view.service, entry.meta.object ?? found.entryKey, bodyLength(entry), savedBytes(entry));
  exchange.states.push('deliver:hit');
  deliverEntry(
    res,
    entry,
    now,
    {
      xCacheStatus,
      cacheStatus: {
        hit: true,
        ttl: (entry.meta.staleAt - now) / 1000,
        // An operator's rule set how long it is fresh: said, as on the fill that stored it.
        detail: entry.meta.rule === undefined ? undefined : `rule ${entry.meta.rule}`,
      },
      key: key && found.readable,
      consumed: view.runtime.consumedHeaders,
      rules: view.rules,
    },
    exchange.client,
    chunksOf(exchange, found),
  );
}

/** DELIVER a stale entry: within stale-while-revalidate, or because the origin fails. */
function deliverStale(
  exchange: Exchange,
  found: Found,
  reason: 'while_revalidate' | 'error' | 'circuit_open',
  fwdStatus: number | undefined,
  detail: string,
): void {
  const { res, view, deps, key } = exchange;
  const { entry } = found;
  metrics.stale.inc({ service: view.service.id, reason });
  const outcome = reason === 'while_revalidate' ? 'hits' : 'staleServed';
  deps.hits?.hit(view.service, entry.meta.object ?? found.entryKey, bodyLength(entry), savedBytes(entry), outcome);
  const at = deps.now();
  const xCacheStatus = reason === 'while_revalidate' ? 'Updating' : 'Stale';
  exchange.states.push(xCacheStatus === 'Updating' ? 'deliver:updating' : 'deliver:stale');
  deliverEntry(
    res,
    entry,
    at,
    {
      xCacheStatus,
      cacheStatus: {
        hit: true,
        ...(xCacheStatus === 'Stale' ? { fwd: 'stale' as const, fwdStatus } : {}),
        ttl: (entry.meta.staleAt - at) / 1000,
        detail,
      },
      key: key && found.readable,
      consumed: view.runtime.consumedHeaders,
      rules: view.rules,
    },
    exchange.client,
    chunksOf(exchange, found),
  );
}

/** DELIVER an object another node fetched for this request (fleet-wide coalescing). */
function deliverCollapsed(exchange: Exchange, found: Found, notes: DeliveryNotes): void {
  const { res, view, deps } = exchange;
  const now = deps.now();
  deps.hits?.count(view.service, 'misses');
  metrics.coalesced.inc({ service: view.service.id });
  exchange.states.push('deliver:collapsed');
  deliverEntry(
    res,
    found.entry,
    now,
    {
      xCacheStatus: 'Miss',
      cacheStatus: { fwd: notes.fwd, collapsed: true, ttl: (found.entry.meta.staleAt - now) / 1000, detail: 'fleet' },
      key: notes.key,
      consumed: view.runtime.consumedHeaders,
      rules: view.rules,
    },
    exchange.client,
    chunksOf(exchange, found),
  );
}

interface DeliveryNotes {
  fwd: ForwardReason;
  /** X-Cache-Status when the response is being stored. */
  storedStatus: XCacheStatus;
  key: string | undefined;
  detail?: string;
}

/**
 * DELIVER what a fill gave this request. A released waiter (the response could not be shared with
 * it) fetches on its own; a fill of its own always admits it.
 */
async function deliverFill(
  exchange: Exchange,
  attachment: Attachment,
  fetchAlone: () => Promise<Attachment>,
  notes: DeliveryNotes,
): Promise<void> {
  const { res, view, deps, states } = exchange;
  if (attachment.kind === 'stored') {
    // Another node fetched and stored it: read it back, as a miss collapsed across the fleet.
    states.push('fill:fleet');
    // One read for all of this node's waiters (they share the variant).
    const found = await attachment
      .once(() => lookup(view, deps.store, deps.varyMemo, deps.now()))
      .catch(() => undefined);
    if (found?.kind === 'hit') return deliverCollapsed(exchange, found, notes);
    // Not found after all (a Vary this node did not know, evicted meanwhile): fetch it here.
    attachment = { kind: 'released' };
  }
  if (attachment.kind === 'released') states.push('fill:released');
  const settled = attachment.kind === 'released' ? await fetchAlone() : attachment;
  if (settled.kind === 'released' || settled.kind === 'stored') {
    throw new Error('a fill released the request that started it');
  }
  if (settled.kind === 'failed') {
    states.push('fill:failed');
    return deliverError(res, settled.error, {
      xCacheStatus: 'Miss',
      cacheStatus: { fwd: notes.fwd, detail: settled.error.code },
      key: notes.key,
    });
  }
  const { head, headers, body, collapsed } = settled;
  states.push(collapsed ? 'fill:collapsed' : 'fill', head.storing ? 'deliver:stored' : 'deliver:bypass');
  deps.hits?.count(view.service, head.storing ? 'misses' : 'bypasses');
  exchangeNotes(res).originMs = head.originMs;
  if (collapsed) metrics.coalesced.inc({ service: view.service.id });
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
        detail: head.relayed
          ? 'fleet'
          : !head.decision.ok
            ? head.decision.reason
            : (notes.detail ?? (head.decision.rule === undefined ? undefined : `rule ${head.decision.rule}`)),
      },
      key: notes.key,
      consumed: view.runtime.consumedHeaders,
      rules: view.rules,
    },
    exchange.client,
  );
}
