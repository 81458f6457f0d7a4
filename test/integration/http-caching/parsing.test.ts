/**
 * Parsing by the RFCs: targeted fields that are not valid Structured Fields are ignored whole
 * (RFC 9213 §2.1); every method Node parses is passed on and, on success, invalidates (RFC 9111
 * §4.4); an unknown content-coding is stored and served only to clients that accept it; varied
 * values that differ only in whitespace or case select one variant (RFC 9111 §4.1).
 */
import { deflateSync } from 'node:zlib';
import { describe, expect } from 'vitest';
import { startEdge, TRANSPORT, test } from '../../helpers/fixtures.js';
import { rawRequest, statusOf } from '../../helpers/raw.js';
import { settled } from '../../helpers/wait.js';

describe('targeted fields (RFC 9213 §2.1)', () => {
  test('an invalid CDN-Cache-Control is ignored as a whole, so Cache-Control: no-store applies', async ({
    edge,
    origin,
  }) => {
    origin.handle((_req, res) => {
      res.writeHead(200, { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=10000, &&&&&' });
      res.end('secret');
    });
    const first = await edge.get('/invalid-cdn-cc');
    expect(first.headers['x-cache-status']).toBe('Bypass');
    expect(String(first.headers['cache-status'])).toContain('detail=no-store');
    await settled(edge);
    expect((await edge.get('/invalid-cdn-cc')).headers['x-cache-status']).not.toBe('Hit');
    expect(origin.requests.length).toBe(2);
  });

  test('a valid one still decides', async ({ edge, origin }) => {
    origin.handle((_req, res) => {
      res.writeHead(200, { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=600, stale-if-error=60' });
      res.end('cdn says yes');
    });
    await edge.get('/valid-cdn-cc');
    await settled(edge);
    expect((await edge.get('/valid-cdn-cc')).headers['x-cache-status']).toBe('Hit');
  });
});

describe('every method the parser accepts', () => {
  test.for(['M-SEARCH', 'PROPFIND', 'REPORT', 'MKCOL', 'PROPPATCH', 'LOCK', 'PURGE', 'QUERY'])(
    '%s is passed to the origin with its body, and its success invalidates the target',
    async (method, { edge, origin }) => {
      origin.handle((req, res, recorded) => {
        if (req.method === 'GET') {
          res.writeHead(200, { 'cache-control': 'max-age=600' });
          return void res.end('page');
        }
        res.writeHead(207, { 'content-type': 'text/plain' });
        res.end(`${req.method} got ${recorded.body.toString()}`);
      });
      await edge.get('/dav');
      await settled(edge);
      expect((await edge.get('/dav')).headers['x-cache-status']).toBe('Hit');
      const answer = await edge.get('/dav', { method, body: '<x/>', headers: { 'content-type': 'text/xml' } });
      expect(answer.status).toBe(207);
      expect(answer.text).toBe(`${method} got <x/>`);
      expect(answer.headers['x-cache-status']).toBe('Bypass');
      expect(origin.requests.filter((r) => r.method === method)).toHaveLength(1);
      expect((await edge.get('/dav')).headers['x-cache-status']).toBe('Miss');
    },
  );

  test('an upload with Expect: 100-continue gets its 100 from the edge and reaches the origin without it', async ({
    edge,
    origin,
  }) => {
    origin.handle((req, res, recorded) => {
      res.writeHead(201, { 'content-type': 'text/plain' });
      res.end(`${req.method} got ${recorded.body.length} bytes`);
    });
    const body = 'u'.repeat(100_000);
    const answer = await edge.get('/upload', { method: 'PUT', body, headers: { expect: '100-continue' } });
    expect(answer.status).toBe(201);
    expect(answer.text).toBe('PUT got 100000 bytes');
    // The edge answered the expectation; the origin is sent the body, not a second 100 to wait for.
    expect(origin.requestsFor('/upload')[0]?.headers.expect).toBeUndefined();
  });

  test('TRACE is still refused (it would reflect cookies and tokens into a page)', async ({ edge, origin }) => {
    const reply = await rawRequest(edge.url, `TRACE / HTTP/1.1\r\nHost: ${edge.host}\r\nConnection: close\r\n\r\n`);
    expect(statusOf(reply)).toBe(405);
    expect(origin.requests).toHaveLength(0);
  });
});

describe('a content-coding the edge does not key on', () => {
  test.for([
    ['zstd', true],
    ['x-custom', true],
    ['deflate', false], // with compression on, deflate is decoded and served in the codings the edge makes
  ] as const)(
    '%s (compression %s) is stored as it came and served only to clients that accept it',
    async ([coding, compress], { redis, origin }) => {
      const edge = await startEdge(redis.url, origin.url, {
        service: { transform: { compress: { enabled: compress } } },
      });
      try {
        const bytes =
          coding === 'deflate' ? deflateSync('deflated bytes') : Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 1, 2]);
        origin.handle((_req, res) => {
          res.writeHead(200, {
            'content-type': 'application/octet-stream',
            'content-encoding': coding,
            'cache-control': 'max-age=600',
          });
          res.end(bytes);
        });
        const path = `/coded-${coding}`;
        const accepting = { 'accept-encoding': `gzip, br, ${coding}` };
        const first = await edge.get(path, { headers: accepting });
        expect(first.body.equals(bytes)).toBe(true);
        await settled(edge);
        const hit = await edge.get(path, { headers: accepting });
        expect(hit.headers['x-cache-status']).toBe('Hit');
        expect(hit.headers['content-encoding']).toBe(coding);
        expect(hit.body.equals(bytes)).toBe(true);
        const star = await edge.get(path, { headers: { 'accept-encoding': 'gzip, br, *' } });
        expect(star.headers['x-cache-status']).toBe('Hit');
        // A client that does not accept it is never served it from the store.
        const other = await edge.get(path, { headers: { 'accept-encoding': 'gzip, br' } });
        expect(other.headers['x-cache-status']).not.toBe('Hit');
        expect(String(other.headers['cache-status'])).toContain('fwd=vary-miss');
        await settled(edge); // the next request would otherwise join this one's fill
        const refused = await edge.get(path, { headers: { 'accept-encoding': `gzip, br, ${coding};q=0` } });
        expect(refused.headers['x-cache-status']).not.toBe('Hit');
        expect(origin.requests.length).toBe(3);
      } finally {
        await edge.close();
      }
    },
  );
});

describe('varied values differing only in whitespace or case (RFC 9111 §4.1)', () => {
  test('Accept-Language spellings of one list share a variant; another list does not', async ({ edge, origin }) => {
    origin.handle((req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=600', vary: 'Accept-Language' });
      res.end(`page for ${req.headers['accept-language']}`);
    });
    await edge.get('/lang', { headers: { 'accept-language': 'en-US,en;q=0.9' } });
    await settled(edge);
    // HTTP/2 forbids spaces around a field value (RFC 9113 §8.2.1): that spelling is HTTP/1.1's only.
    const padded = TRANSPORT === 'h1' ? [' en-US ,en ;q=0.9 '] : [];
    for (const spelling of ['en-us, en; q=0.9', 'EN-US,EN;Q=0.9', ...padded]) {
      const sent = await edge.get('/lang', { headers: { 'accept-language': spelling } });
      expect(sent.headers['x-cache-status'], spelling).toBe('Hit');
    }
    const other = await edge.get('/lang', { headers: { 'accept-language': 'fr-FR,fr;q=0.9' } });
    expect(other.headers['x-cache-status']).toBe('Miss');
    expect(origin.requests.length).toBe(2);
  });
});
