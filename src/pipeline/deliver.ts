/**
 * @module DELIVER and SYNTH: writing responses. Whatever the source — a stored entry (Age computed
 * now), a fill or a pass — the client's conditionals are answered (304 / 412) and a single byte
 * range is served from a complete 200 (206 / 416) before anything is written.
 */
import { type ServerResponse, STATUS_CODES } from 'node:http';
import { type Readable, Transform } from 'node:stream';
import type { CachefrontError } from '../errors.js';
import type { Headers } from '../origin/hop-by-hop.js';
import { evaluatePreconditions, ifRangeMatches, notModifiedHeaders } from '../policy/conditional.js';
import { currentAge, single } from '../policy/freshness.js';
import { contentRange, decideRange, unsatisfiedRange } from '../policy/range.js';
import { browserCacheControl, browserTtlMs, type MatchedRules } from '../rules/match.js';
import type { CachedEntry } from '../store/types.js';
import { streamingResponse } from '../tls/h2-exchange.js';
import { type CacheStatusParts, formatCacheStatus, headerSafe, type XCacheStatus } from './cache-status.js';
import type { ChunkedBody } from './chunk-reader.js';
import { exchangeNotes } from './exchange.js';

export interface CacheAnnotations {
  xCacheStatus: XCacheStatus;
  cacheStatus: CacheStatusParts;
  /** Readable key, when the service exposes it. */
  key?: string | undefined;
  /** Response fields the edge consumes: removed before the client sees them (ServiceRuntime). */
  consumed?: readonly string[];
  /** The cache rules the request matched: a rule's browserTtl sets what the client sees. */
  rules?: MatchedRules;
}

/** A rule's browser TTL applied to the Cache-Control the client gets (rules/match.ts). */
function withBrowserTtl(headers: Headers, status: number, rules: MatchedRules | undefined): void {
  if (rules === undefined || rules.candidates.length === 0) return;
  const type = headers['content-type'];
  const ttl = browserTtlMs(rules, status, typeof type === 'string' ? type : undefined);
  if (ttl === undefined) return;
  const control = browserCacheControl(headers['cache-control'], ttl / 1000);
  if (control !== undefined) headers['cache-control'] = control;
}

/** The parts of the client request that shape the response: conditionals and Range. */
export interface ClientRequest {
  method: string;
  headers: Headers;
}

/** Writes the head, noting the cache status and length for the access log and the metrics. */
function writeHead(res: ServerResponse, status: number, headers: Headers): void {
  const exchange = exchangeNotes(res);
  const cacheStatus = headers['x-cache-status'];
  if (typeof cacheStatus === 'string') exchange.cacheStatus = cacheStatus;
  const length = headers['content-length'];
  if (typeof length === 'string') exchange.bytes = Number(length);
  if (exchange.sandbox) sandboxed(headers);
  res.writeHead(status, headers);
}

/**
 * A fetched URL's response is a third party's content on the service's host: an HTML page or SVG
 * from it must not run scripts, read the host's cookies or storage, or be sniffed into something
 * else. `Content-Security-Policy: sandbox` is added as a policy of its own (a browser enforces every
 * policy it gets, so whatever the upstream sent cannot loosen it), with `nosniff`.
 */
function sandboxed(headers: Headers): void {
  const policy = headers['content-security-policy'];
  headers['content-security-policy'] =
    policy === undefined ? 'sandbox' : [...(Array.isArray(policy) ? policy : [policy]), 'sandbox'];
  headers['x-content-type-options'] = 'nosniff';
}

/** Status codes that never have a body (RFC 9110 §6.4.1). */
function bodyless(status: number): boolean {
  return status === 204 || status === 304 || (status >= 100 && status < 200);
}

function annotate(headers: Headers, notes: CacheAnnotations): Headers {
  if (notes.consumed) for (const name of notes.consumed) delete headers[name];
  headers['x-cache-status'] = notes.xCacheStatus;
  const parts = notes.key === undefined ? notes.cacheStatus : { ...notes.cacheStatus, key: headerSafe(notes.key) };
  headers['cache-status'] = formatCacheStatus(parts);
  if (notes.key !== undefined) headers['x-cache-key'] = headerSafe(notes.key);
  return headers;
}

/**
 * Answers from a stored entry. A chunked one (meta.chunks) is read from the store through `chunks`,
 * only the bytes the response needs.
 */
export function deliverEntry(
  res: ServerResponse,
  entry: CachedEntry,
  now: number,
  notes: CacheAnnotations,
  request: ClientRequest,
  chunks?: ChunkedBody,
): void {
  const { meta } = entry;
  if (meta.chunks && !chunks) throw new Error('a chunked entry is delivered with its chunks');
  const body = chunks ?? entry.body;
  const headers: Headers = {};
  for (const [name, value] of meta.headers) {
    const existing = headers[name];
    if (existing === undefined) headers[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else headers[name] = [existing, value];
  }
  headers.age = String(currentAge(meta.initialAgeSeconds, meta.responseTime, now));
  withBrowserTtl(headers, meta.status, notes.rules);
  respond(res, meta.status, headers, body, notes, request);
}

/**
 * Streams a response from a fill or a pass. `request` is the client request to answer
 * conditionals and ranges for; a pass leaves them to the origin (undefined).
 */
export function deliverStream(
  res: ServerResponse,
  status: number,
  originHeaders: Headers,
  body: Readable | null,
  notes: CacheAnnotations,
  request: ClientRequest | undefined,
): void {
  const headers = { ...originHeaders };
  withBrowserTtl(headers, status, notes.rules);
  respond(res, status, headers, body, notes, request);
}

function respond(
  res: ServerResponse,
  status: number,
  headers: Headers,
  stored: Buffer | Readable | ChunkedBody | null,
  notes: CacheAnnotations,
  request: ClientRequest | undefined,
): void {
  // A chunked body is opened for what is sent: the range, the whole, or nothing (HEAD, 304, 412, 416).
  const chunked = isChunked(stored) ? stored : undefined;
  let body = chunked ? null : (stored as Buffer | Readable | null);
  if (chunked) headers['content-length'] = String(chunked.length);
  if (request === undefined) {
    write(res, status, headers, chunked ? chunked.open(0, chunked.length - 1) : body, notes);
    return;
  }
  const outcome = evaluatePreconditions(request.method, request.headers, status, headers);
  if (outcome !== 'proceed') {
    if (body !== null && !Buffer.isBuffer(body)) body.destroy();
    if (outcome === 'not-modified') {
      const age = headers.age;
      const out = notModifiedHeaders(headers);
      if (age !== undefined) out.age = age;
      writeHead(res, 304, annotate(out, notes));
    } else {
      writeHead(res, 412, annotate({ 'content-length': '0' }, notes));
    }
    return void res.end();
  }
  const length = chunked
    ? chunked.length
    : Buffer.isBuffer(body)
      ? body.length
      : Number(single(headers, 'content-length'));
  const rangeable = status === 200 && Number.isFinite(length) && !bodyless(status);
  if (rangeable) headers['accept-ranges'] ??= 'bytes';
  // RFC 9110 §14.2: Range is defined for GET only; If-Range decides whether it still applies.
  if (
    rangeable &&
    request.method === 'GET' &&
    request.headers.range !== undefined &&
    ifRangeMatches(request.headers, headers)
  ) {
    const decision = decideRange(single(request.headers, 'range'), length);
    if (decision.kind === 'unsatisfiable') {
      if (body !== null && !Buffer.isBuffer(body)) body.destroy();
      delete headers['content-type'];
      headers['content-range'] = unsatisfiedRange(length);
      headers['content-length'] = '0';
      writeHead(res, 416, annotate(headers, notes));
      return void res.end();
    }
    if (decision.kind === 'partial') {
      const { start, end } = decision.range;
      headers['content-range'] = contentRange(decision.range, length);
      headers['content-length'] = String(end - start + 1);
      status = 206;
      if (chunked) return void write(res, status, headers, chunked.open(start, end), notes);
      body = body === null ? null : Buffer.isBuffer(body) ? body.subarray(start, end + 1) : slice(body, start, end);
    }
  }
  if (chunked && request.method !== 'HEAD' && length > 0) body = chunked.open(0, length - 1);
  write(res, status, headers, body, notes);
}

function isChunked(body: Buffer | Readable | ChunkedBody | null): body is ChunkedBody {
  return body !== null && (body as ChunkedBody).kind === 'chunks';
}

function write(
  res: ServerResponse,
  status: number,
  headers: Headers,
  body: Buffer | Readable | null,
  notes: CacheAnnotations,
): void {
  if (Buffer.isBuffer(body)) {
    if (bodyless(status)) delete headers['content-length'];
    else headers['content-length'] = String(body.length);
    writeHead(res, status, annotate(headers, notes));
    return void res.end(bodyless(status) ? undefined : body);
  }
  writeHead(res, status, annotate(headers, notes));
  if (body === null || bodyless(status)) {
    // Drain rather than destroy: a destroyed origin body emits an abort error and costs the
    // connection; an empty one read to its end goes back to the pool.
    body?.resume();
    return void res.end();
  }
  pipeBody(body, res);
}

/**
 * pipe rather than stream.pipeline: pipeline builds and aborts an AbortController per response, a
 * measurable cost on the miss path. When the body fails midway the connection is destroyed, so the
 * client sees a truncated response rather than a complete-looking one.
 */
function pipeBody(body: Readable, res: ServerResponse): void {
  body.on('error', (error) => res.destroy(error));
  res.on('close', () => {
    if (!body.readableEnded) body.destroy();
  });
  const h2 = streamingResponse(res);
  if (h2) h2.pipeFrom(body);
  else body.pipe(res);
}

/** Bytes start..end (inclusive) of a stream; the source is let go once the range is complete. */
function slice(source: Readable, start: number, end: number): Readable {
  let offset = 0;
  const out = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const chunkStart = offset;
      offset += chunk.length;
      const from = Math.max(start - chunkStart, 0);
      const to = Math.min(end + 1 - chunkStart, chunk.length);
      if (to > from) this.push(chunk.subarray(from, to));
      if (offset > end) {
        this.push(null);
        source.unpipe(out);
        source.destroy();
      }
      callback();
    },
  });
  source.on('error', (error) => out.destroy(error));
  source.pipe(out);
  return out;
}

/** The body of every synthetic error: status, message and code, as plain text. */
export function errorBody(error: CachefrontError): string {
  return `${error.statusCode} ${error.message}\ncode: ${error.code}\n`;
}

/**
 * The same error written straight to a socket, for requests Node's parser refused before there is
 * a response object (headers too large, malformed HTTP): the connection is closed after it.
 */
export function rawErrorResponse(error: CachefrontError): string {
  const body = errorBody(error);
  return (
    `HTTP/1.1 ${error.statusCode} ${STATUS_CODES[error.statusCode] ?? ''}\r\n` +
    'content-type: text/plain; charset=utf-8\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    'cache-control: no-store\r\nconnection: close\r\n\r\n' +
    body
  );
}

/** A synthetic error response: status from the error code, a short plain-text body naming it. */
export function deliverError(res: ServerResponse, error: CachefrontError, notes?: CacheAnnotations): void {
  exchangeNotes(res).errorCode = error.code;
  const body = errorBody(error);
  const headers: Headers = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
  };
  // After a request the edge could not read (400), the connection's framing is not to be trusted.
  if (error.statusCode === 400) headers.connection = 'close';
  writeHead(res, error.statusCode, notes ? annotate(headers, notes) : headers);
  res.end(body);
}

/** RFC 8297: 103 Early Hints let the client start fetching linked resources while the origin works. */
export function sendEarlyHints(res: ServerResponse, hints: Headers): void {
  if (res.headersSent || hints.link === undefined) return;
  res.writeEarlyHints(hints as Record<string, string | string[]>);
}
