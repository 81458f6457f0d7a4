import { describe, expect, it } from 'vitest';
import { formatHttpDate } from '../../../src/policy/http-date.js';
import { decideStorage } from '../../../src/policy/storable.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const KEEP = 3_600_000;
const decide = (
  res: Record<string, string | string[]>,
  { method = 'GET', status = 200, req = {} as Record<string, string> } = {},
) =>
  decideStorage({
    method,
    requestHeaders: req,
    status,
    responseHeaders: { date: formatHttpDate(NOW), ...res },
    requestTime: NOW,
    responseTime: NOW,
    heuristic: { enabled: false, maxSeconds: 0 },
    keepForRevalidationMs: KEEP,
  });
const reason = (d: ReturnType<typeof decide>) => (d.ok ? 'stored' : d.reason);

describe('decideStorage (RFC 9111 §3)', () => {
  it.each([
    // [why, response headers, options, expected]
    ['fresh public response', { 'cache-control': 'max-age=60' }, {}, 'stored'],
    ['§3 method must be understood: POST', { 'cache-control': 'max-age=60' }, { method: 'POST' }, 'method'],
    [
      '§3 no-store in the request',
      { 'cache-control': 'max-age=60' },
      { req: { 'cache-control': 'no-store' } },
      'request-no-store',
    ],
    ['§3 no-store in the response', { 'cache-control': 'max-age=60, no-store' }, {}, 'no-store'],
    ['§3 private (shared cache)', { 'cache-control': 'private, max-age=60' }, {}, 'private'],
    [
      '§5.2.2.7 private with field names: the rest is stored',
      { 'cache-control': 'private="x", max-age=60' },
      {},
      'stored',
    ],
    [
      '§5.2.2.4 no-cache without a validator: nothing to revalidate with',
      { 'cache-control': 'no-cache, max-age=60' },
      {},
      'no-cache',
    ],
    [
      '§5.2.2.4 no-cache with an ETag is kept for revalidation',
      { 'cache-control': 'no-cache', etag: '"v1"' },
      {},
      'stored',
    ],
    [
      '§5.2.2.4 no-cache with field names is cached as usual',
      { 'cache-control': 'no-cache="x", max-age=60' },
      {},
      'stored',
    ],
    [
      'max-age=0 with Last-Modified is kept for revalidation',
      { 'cache-control': 'max-age=0', 'last-modified': 'Sun, 06 Nov 1994 08:49:37 GMT' },
      {},
      'stored',
    ],
    ['§3 no explicit freshness, 200 with a validator: stored, revalidated on use', { etag: '"v1"' }, {}, 'stored'],
    [
      '§3 no explicit freshness, 500 with a validator: not heuristically cacheable',
      { etag: '"v1"' },
      { status: 500 },
      'no-freshness',
    ],
    [
      '§5.2.2.3 must-understand on an understood status overrides no-store',
      { 'cache-control': 'must-understand, no-store, max-age=60' },
      {},
      'stored',
    ],
    [
      '§5.2.2.3 must-understand on a status the cache does not know',
      { 'cache-control': 'must-understand, no-store, max-age=60' },
      { status: 299 },
      'must-understand',
    ],
    [
      '§3.5 Authorization without public',
      { 'cache-control': 'max-age=60' },
      { req: { authorization: 'Bearer x' } },
      'authorization',
    ],
    [
      '§3.5 Authorization with public',
      { 'cache-control': 'public, max-age=60' },
      { req: { authorization: 'Bearer x' } },
      'stored',
    ],
    [
      '§3.5 Authorization with s-maxage',
      { 'cache-control': 's-maxage=60' },
      { req: { authorization: 'Bearer x' } },
      'stored',
    ],
    [
      '§3.5 Authorization with must-revalidate',
      { 'cache-control': 'must-revalidate, max-age=60' },
      { req: { authorization: 'x' } },
      'stored',
    ],
    ['Set-Cookie is never stored', { 'cache-control': 'public, max-age=60', 'set-cookie': 'a=1' }, {}, 'set-cookie'],
    ['RFC 9110 §12.5.5 Vary: *', { 'cache-control': 'max-age=60', vary: 'Accept, *' }, {}, 'vary-star'],
    ['max-age=0', { 'cache-control': 'max-age=0' }, {}, 'stale-on-arrival'],
    ['max-age=0 with positive s-maxage', { 'cache-control': 'max-age=0, s-maxage=30' }, {}, 'stored'],
    ['s-maxage=0 wins over max-age', { 'cache-control': 's-maxage=0, max-age=30' }, {}, 'stale-on-arrival'],
    ['no explicit freshness, heuristics off', {}, {}, 'no-freshness'],
    ['Expires in the past', { expires: formatHttpDate(NOW - 1000) }, {}, 'stale-on-arrival'],
    ['invalid Expires', { expires: 'tomorrow' }, {}, 'stale-on-arrival'],
    ['Age beyond max-age', { 'cache-control': 'max-age=60', age: '61' }, {}, 'stale-on-arrival'],
    ['§3.3 206 is not a full response', { 'cache-control': 'max-age=60' }, { status: 206 }, 'partial-content'],
    ['304 alone is not storable', { 'cache-control': 'max-age=60' }, { status: 304 }, 'status'],
    ['404 with explicit freshness', { 'cache-control': 'max-age=60' }, { status: 404 }, 'stored'],
    ['500 without freshness', {}, { status: 500 }, 'no-freshness'],
    [
      'CPDoS: 400 never, even with explicit freshness',
      { 'cache-control': 'max-age=60' },
      { status: 400 },
      'request-error',
    ],
    ['CPDoS: 431 never', { 'cache-control': 'max-age=60' }, { status: 431 }, 'request-error'],
    ['CPDoS: 404 with a validator but no explicit freshness', { etag: '"x"' }, { status: 404 }, 'no-freshness'],
    ['CPDoS: 502 with explicit freshness', { 'cache-control': 'max-age=5' }, { status: 502 }, 'stored'],
    [
      'RFC 9213 CDN-Cache-Control decides over Cache-Control: store',
      { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=60' },
      {},
      'stored',
    ],
    [
      'RFC 9213 CDN-Cache-Control decides over Cache-Control: no-store',
      { 'cache-control': 'max-age=60', 'cdn-cache-control': 'no-store' },
      {},
      'no-store',
    ],
    [
      'RFC 9213 CDN-Cache-Control private',
      { 'cache-control': 'public, max-age=60', 'cdn-cache-control': 'private' },
      {},
      'private',
    ],
    [
      'RFC 9213 an empty CDN-Cache-Control is ignored',
      { 'cache-control': 'max-age=60', 'cdn-cache-control': '' },
      {},
      'stored',
    ],
    [
      'Surrogate-Control decides when there is no CDN-Cache-Control',
      { 'cache-control': 'no-store', 'surrogate-control': 'max-age=60' },
      {},
      'stored',
    ],
    [
      'RFC 9213 §2.2 Expires is ignored under a targeted field',
      { 'cdn-cache-control': 'public', expires: formatHttpDate(NOW + 60_000) },
      {},
      'no-freshness',
    ],
  ] as const)('%s', (_why, res, options, expected) => {
    expect(reason(decide(res as Record<string, string>, options))).toBe(expected);
  });

  it('CPDoS: errors are never stored on heuristic freshness', () => {
    const lastModified = formatHttpDate(NOW - 10 * 86_400_000);
    const heuristic = (status: number) =>
      decideStorage({
        method: 'GET',
        requestHeaders: {},
        status,
        responseHeaders: { date: formatHttpDate(NOW), 'last-modified': lastModified },
        requestTime: NOW,
        responseTime: NOW,
        heuristic: { enabled: true, maxSeconds: 3600 },
        keepForRevalidationMs: KEEP,
      });
    expect(heuristic(200).ok).toBe(true);
    expect(heuristic(404)).toEqual({ ok: false, reason: 'no-freshness' });
    expect(heuristic(410)).toEqual({ ok: false, reason: 'no-freshness' });
  });

  it('keeps absolute times: fresh until response time + lifetime − initial age', () => {
    const d = decide({ 'cache-control': 'max-age=100', age: '40' });
    expect(d.ok && d.staleAt).toBe(NOW + 60_000);
    expect(d.ok && d.deleteAt).toBe(NOW + 60_000); // no validator: gone when stale
  });

  it('keeps a response with a validator past its freshness, for revalidation', () => {
    const d = decide({ 'cache-control': 'max-age=100', etag: '"a"' });
    expect(d.ok && d.deleteAt).toBe(NOW + 100_000 + KEEP);
    const noCache = decide({ 'cache-control': 'no-cache, max-age=100', etag: '"a"' });
    expect(noCache.ok && noCache.staleAt).toBe(NOW); // never used without revalidation
  });

  it('qualified private and no-cache name the fields the stored copy must not carry', () => {
    const d = decide({ 'cache-control': 'max-age=60, private="X-User", no-cache="X-A, x-b"' });
    expect(d.ok && d.omitFields).toEqual(['x-user', 'x-a', 'x-b']);
    expect(d.ok && d.staleAt).toBe(NOW + 60_000); // a qualified no-cache does not force revalidation
  });

  it('CDN-Cache-Control takes precedence over Surrogate-Control and Cache-Control for freshness', () => {
    const d = decide({
      'cache-control': 'max-age=10',
      'surrogate-control': 'max-age=20',
      'cdn-cache-control': 'max-age=30',
    });
    expect(d.ok && d.staleAt).toBe(NOW + 30_000);
  });

  it('adds Accept-Encoding to the variant rule when the origin compresses without saying so', () => {
    const d = decide({ 'cache-control': 'max-age=60', 'content-encoding': 'gzip', vary: 'Origin' });
    expect(d.ok && d.varyNames).toEqual(['accept-encoding', 'origin']);
  });
});
