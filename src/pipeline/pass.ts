/**
 * @module PASS: the request goes to the origin as it is (its body streamed, held to
 * edge.maxBodyBytes) and nothing is stored. A successful unsafe request invalidates what is stored
 * for its target (RFC 9111 §4.4) before its response reaches the client.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLarge, type CachefrontError } from '../errors.js';
import type { OriginResponse } from '../origin/client.js';
import { endToEndHeaders, type Headers } from '../origin/hop-by-hop.js';
import { requestBody } from '../tls/h2-exchange.js';
import type { ForwardReason } from './cache-status.js';
import { deliverError, deliverStream, sendEarlyHints } from './deliver.js';
import { deliverOriginDown, type EdgeDeps, originGate } from './edge-deps.js';
import { exchangeNotes } from './exchange.js';
import { invalidationTargets } from './invalidation.js';
import { originTarget, passRequestHeaders } from './origin-request.js';
import type { RequestView } from './recv.js';
import { bodyWasTooLarge, limitBody } from './request-body.js';

/** RFC 9110 §9.2.1 safe methods; any other method's success invalidates stored responses (RFC 9111 §4.4). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Does the request carry a body? HTTP/1.1 says so in its framing headers; an HTTP/2 request has
 * one unless its HEADERS frame ended the stream (content-length is optional there).
 */
function requestHasBody(req: IncomingMessage): boolean {
  if (req.httpVersionMajor === 2)
    return !(req as unknown as { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders;
  return req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
}

/**
 * The connection closes after this response (its request body is not drained). HTTP/2 has no
 * Connection header (Node refuses it): the stream is reset once the response is sent instead.
 */
function closeAfter(req: IncomingMessage, res: ServerResponse): void {
  if (req.httpVersionMajor < 2) res.setHeader('connection', 'close');
}

export async function pass(
  req: IncomingMessage,
  res: ServerResponse,
  view: RequestView,
  deps: EdgeDeps,
  fwd: ForwardReason,
  detail: string,
): Promise<void> {
  const key = view.service.key.exposeKeyHeader ? view.primary.readable : undefined;
  const hasBody = requestHasBody(req);
  deps.hits?.count(view.service, 'bypasses');
  const gate = await originGate(view, deps);
  if (!gate.allowed) {
    req.resume(); // the request body is not wanted
    return deliverOriginDown(res, view, gate.retryAfterMs, key);
  }
  const limit = deps.maxBodyBytes ?? Number.POSITIVE_INFINITY;
  if (Number(req.headers['content-length'] ?? 0) > limit) {
    // Refused before reading a byte of it; the connection closes rather than drain the body.
    closeAfter(req, res);
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
      upstream: view.upstream,
      body: hasBody ? limitBody(requestBody(req), limit) : null,
      onInfo: (info) => {
        if (info.statusCode === 103) sendEarlyHints(res, endToEndHeaders(info.headers));
      },
    });
  } catch (error) {
    const tooLarge = bodyWasTooLarge(error);
    if (tooLarge) closeAfter(req, res);
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

async function invalidate(view: RequestView, headers: Headers, deps: EdgeDeps): Promise<void> {
  const targets = invalidationTargets(view, headers);
  try {
    await Promise.all(targets.map((primary) => deps.store.invalidate(view.service.id, primary.hash)));
  } catch (error) {
    deps.log.warn({ err: error, service: view.service.id }, 'invalidating stored responses failed');
  }
}
