/**
 * @module DELIVER and SYNTH: writing responses. Hits come from a stored entry with Age computed now;
 * streamed responses come from a fill or a pass; synthetic ones carry a CF_ERR_* code.
 */
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { CachefrontError } from '../errors.js';
import type { Headers } from '../origin/hop-by-hop.js';
import { currentAge } from '../policy/freshness.js';
import type { CachedEntry } from '../store/types.js';
import { type CacheStatusParts, formatCacheStatus, headerSafe, type XCacheStatus } from './cache-status.js';

export interface CacheAnnotations {
  xCacheStatus: XCacheStatus;
  cacheStatus: CacheStatusParts;
  /** Readable key, when the service exposes it. */
  key?: string | undefined;
}

/** Status codes that never have a body (RFC 9110 §6.4.1). */
function bodyless(status: number): boolean {
  return status === 204 || status === 304 || (status >= 100 && status < 200);
}

function annotate(headers: Headers, notes: CacheAnnotations): Headers {
  headers['x-cache-status'] = notes.xCacheStatus;
  const parts = notes.key === undefined ? notes.cacheStatus : { ...notes.cacheStatus, key: headerSafe(notes.key) };
  headers['cache-status'] = formatCacheStatus(parts);
  if (notes.key !== undefined) headers['x-cache-key'] = headerSafe(notes.key);
  return headers;
}

/** Answers from a stored entry. */
export function deliverEntry(res: ServerResponse, entry: CachedEntry, now: number, notes: CacheAnnotations): void {
  const { meta, body } = entry;
  const headers: Headers = {};
  for (const [name, value] of meta.headers) {
    const existing = headers[name];
    if (existing === undefined) headers[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else headers[name] = [existing, value];
  }
  headers.age = String(currentAge(meta.initialAgeSeconds, meta.responseTime, now));
  if (bodyless(meta.status)) delete headers['content-length'];
  else headers['content-length'] = String(body.length);
  res.writeHead(meta.status, annotate(headers, notes));
  res.end(bodyless(meta.status) ? undefined : body);
}

/**
 * Streams a response (from a fill or a pass). When the body fails midway the connection is
 * destroyed, so the client sees a truncated response rather than a complete-looking one.
 */
export function deliverStream(
  res: ServerResponse,
  status: number,
  originHeaders: Headers,
  body: Readable | null,
  notes: CacheAnnotations,
): void {
  const headers = annotate({ ...originHeaders }, notes);
  res.writeHead(status, headers);
  if (body === null || bodyless(status)) {
    body?.destroy();
    res.end();
    return;
  }
  // pipe rather than stream.pipeline: pipeline builds and aborts an AbortController per response,
  // a measurable cost on the miss path. Failures are handled both ways by hand.
  body.on('error', (error) => res.destroy(error));
  res.on('close', () => {
    if (!body.readableEnded) body.destroy();
  });
  body.pipe(res);
}

/** A synthetic error response: status from the error code, a short plain-text body naming it. */
export function deliverError(res: ServerResponse, error: CachefrontError, notes?: CacheAnnotations): void {
  const body = `${error.statusCode} ${error.message}\ncode: ${error.code}\n`;
  const headers: Headers = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
  };
  res.writeHead(error.statusCode, notes ? annotate(headers, notes) : headers);
  res.end(body);
}
