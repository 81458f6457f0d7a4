/**
 * @module The request pipeline's driver, after Varnish's builtin.vcl:
 *
 *   RECV ─ unknown host / bad target ─────────────────────────────► SYNTH 421 / 400
 *    ├─ not GET/HEAD, or request no-store ───────────────────────► PASS (nothing stored)
 *    ├─ request no-cache / Pragma: no-cache ─────────────────────► FILL alone → Refresh
 *    └─ LOOKUP ─ hit ──────────────────────────────────────────────► DELIVER (Hit)
 *               ├─ hit-for-miss marker ────────────────────────────► FILL alone (no queueing)
 *               └─ miss ─► FILL (coalesced) ─ shared ───────────────► DELIVER stream (Miss/Bypass)
 *                                            ├─ released ───────────► FILL alone
 *                                            └─ origin failed ──────► SYNTH 502 / 504
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CachefrontError } from '../errors.js';
import type { OriginClients } from '../origin/client.js';
import { endToEndHeaders } from '../origin/hop-by-hop.js';
import { parseCacheControl } from '../policy/cache-control.js';
import type { CacheStore } from '../store/types.js';
import type { ForwardReason, XCacheStatus } from './cache-status.js';
import type { Coalescer } from './coalesce.js';
import { deliverEntry, deliverError, deliverStream } from './deliver.js';
import type { Attachment } from './fill.js';
import { lookup, unknownVariant, type VaryMemo } from './lookup.js';
import { originTarget, passRequestHeaders } from './origin-request.js';
import { type RecvDeps, type RequestView, recv } from './recv.js';

export interface EdgeDeps extends RecvDeps {
  store: CacheStore;
  origin: OriginClients;
  coalescer: Coalescer;
  varyMemo: VaryMemo;
  now: () => number;
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/** Methods never forwarded: TRACE reflects request headers (cookies, tokens) back into a page. */
const REFUSED_METHODS = new Set(['TRACE', 'TRACK', 'CONNECT']);

export async function handleEdgeRequest(req: IncomingMessage, res: ServerResponse, deps: EdgeDeps): Promise<void> {
  const received = recv(req, deps);
  if (!received.ok) return deliverError(res, received.error);
  const view = received.view;
  const key = view.service.key.exposeKeyHeader ? view.primary.readable : undefined;

  if (REFUSED_METHODS.has(view.method)) {
    res.writeHead(405, { allow: 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS', 'content-length': '0' });
    return void res.end();
  }
  if (view.method !== 'GET' && view.method !== 'HEAD') {
    return pass(req, res, view, deps, 'method', 'method');
  }
  const directives = parseCacheControl(view.headers['cache-control']);
  if (directives.has('no-store')) return pass(req, res, view, deps, 'bypass', 'request-no-store');

  const headOnly = view.method === 'HEAD';
  // RFC 9111 §5.2.1.4 / §5.4: the client asks for a response validated with the origin.
  const clientNoCache =
    directives.has('no-cache') ||
    (view.headers['cache-control'] === undefined && /no-cache/i.test(String(view.headers.pragma ?? '')));

  const alone = (names: readonly string[]) => () => deps.coalescer.alone({ view, headOnly }, names);
  if (clientNoCache) {
    const names = deps.varyMemo.get(view.service.id, view.primary);
    return deliverAttachment(res, await alone(names)(), alone(names), { fwd: 'request', storedStatus: 'Refresh', key });
  }
  const found = await lookup(view, deps.store, deps.varyMemo, deps.now()).catch((error: unknown) => {
    // A store that cannot answer must not take the site down: treat it as a miss and fetch.
    deps.log.warn({ err: error, service: view.service.id }, 'cache lookup failed; fetching from the origin');
    return unknownVariant(view, deps.varyMemo);
  });
  if (found.kind === 'hit') {
    const now = deps.now();
    return deliverEntry(res, found.entry, now, {
      xCacheStatus: 'Hit',
      cacheStatus: { hit: true, ttl: (found.entry.meta.staleAt - now) / 1000 },
      key: key && found.readable,
    });
  }
  if (found.kind === 'uncacheable') {
    // Hit-for-miss: no queueing; the response may still be stored if it has become cacheable,
    // unless it is known to be too large to keep at all.
    const attachment = await deps.coalescer.alone({ view, headOnly }, found.names, found.reason !== 'too-large');
    return deliverAttachment(res, attachment, alone(found.names), {
      fwd: 'miss',
      storedStatus: 'Miss',
      key,
      detail: found.reason,
    });
  }
  const attachment = await deps.coalescer.join({ view, headOnly }, found.entryKey, found.names);
  return deliverAttachment(res, attachment, alone(found.names), {
    fwd: found.varyMiss ? 'vary-miss' : 'uri-miss',
    storedStatus: 'Miss',
    key: key && found.readable,
  });
}

interface DeliveryNotes {
  fwd: ForwardReason;
  /** X-Cache-Status when the response is being stored. */
  storedStatus: XCacheStatus;
  key: string | undefined;
  detail?: string;
}

/**
 * Writes what a fill gave this request. A released waiter (the response could not be shared with
 * it) fetches on its own; a fill of its own always admits it.
 */
async function deliverAttachment(
  res: ServerResponse,
  attachment: Attachment,
  fetchAlone: () => Promise<Attachment>,
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
  const { head, body, collapsed } = settled;
  deliverStream(res, head.status, head.headers, body, {
    xCacheStatus: head.storing ? notes.storedStatus : 'Bypass',
    cacheStatus: {
      fwd: notes.fwd,
      fwdStatus: head.status,
      stored: head.storing,
      collapsed,
      detail: head.decision.ok ? notes.detail : head.decision.reason,
    },
    key: notes.key,
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
  try {
    const response = await deps.origin.request(view.service, {
      method: view.method,
      target: originTarget(view),
      headers: passRequestHeaders(view),
      body: hasBody ? req : null,
    });
    deliverStream(res, response.status, endToEndHeaders(response.headers), response.body, {
      xCacheStatus: 'Bypass',
      cacheStatus: { fwd, fwdStatus: response.status, detail },
      key,
    });
  } catch (error) {
    deliverError(res, error as CachefrontError, { xCacheStatus: 'Bypass', cacheStatus: { fwd, detail }, key });
  }
}
