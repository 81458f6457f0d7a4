import { describe, expect } from 'vitest';
import { startEdge, test } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait.js';

describe('invalidation by unsafe methods (RFC 9111 §4.4)', () => {
  test.for(['POST', 'PUT', 'DELETE', 'PATCH'] as const)(
    'a successful %s invalidates the target URI, all variants',
    async (method, { edge, origin }) => {
      origin.handle((req, res) => {
        if (req.method !== 'GET') return void res.writeHead(204).end();
        res.writeHead(200, { 'cache-control': 'max-age=600', vary: 'Accept-Language' });
        res.end(`doc ${req.headers['accept-language']}`);
      });
      await edge.get('/doc', { headers: { 'accept-language': 'fr' } });
      await edge.get('/doc', { headers: { 'accept-language': 'de' } });
      expect((await edge.get('/doc', { headers: { 'accept-language': 'fr' } })).headers['x-cache-status']).toBe('Hit');
      await edge.get('/doc', { method });
      expect((await edge.get('/doc', { headers: { 'accept-language': 'fr' } })).headers['x-cache-status']).not.toBe(
        'Hit',
      );
      expect((await edge.get('/doc', { headers: { 'accept-language': 'de' } })).headers['x-cache-status']).not.toBe(
        'Hit',
      );
    },
  );

  test('same-origin Location and Content-Location are invalidated; other origins are not', async ({ edge, origin }) => {
    origin.handle((req, res) => {
      if (req.method === 'POST') {
        res.writeHead(201, { location: '/items/7', 'content-location': `http://other.example/list` });
        return void res.end();
      }
      res.writeHead(200, { 'cache-control': 'max-age=600' });
      res.end(req.url);
    });
    await edge.get('/items/7');
    await edge.get('/list');
    await edge.get('/items', { method: 'POST', body: 'x' });
    expect((await edge.get('/items/7')).headers['x-cache-status']).toBe('Miss');
    expect((await edge.get('/list')).headers['x-cache-status']).toBe('Hit');
  });

  test('an error response does not invalidate', async ({ edge, origin }) => {
    origin.handle((req, res) => {
      if (req.method === 'POST') return void res.writeHead(500).end();
      res.writeHead(200, { 'cache-control': 'max-age=600' });
      res.end('kept');
    });
    await edge.get('/keep');
    await edge.get('/keep', { method: 'POST', body: 'x' });
    expect((await edge.get('/keep')).headers['x-cache-status']).toBe('Hit');
  });
});

describe('targeted cache control (RFC 9213)', () => {
  test('CDN-Cache-Control decides for the edge and is not forwarded to clients', async ({ edge, origin }) => {
    origin.handle((_req, res) => {
      res.writeHead(200, { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=600' });
      res.end('cdn says yes');
    });
    const first = await edge.get('/cdn');
    expect(first.headers['cdn-cache-control']).toBeUndefined();
    expect(first.headers['cache-control']).toBe('no-store'); // the browser's instruction stays
    const hit = await edge.get('/cdn');
    expect(hit.headers['x-cache-status']).toBe('Hit');
    expect(hit.headers['cdn-cache-control']).toBeUndefined();
  });

  test('CDN-Cache-Control: no-store wins over a cacheable Cache-Control', async ({ edge, origin }) => {
    origin.handle((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=600', 'cdn-cache-control': 'no-store' });
      res.end('cdn says no');
    });
    await edge.get('/cdn-no');
    expect((await edge.get('/cdn-no')).headers['cache-status']).toContain('detail=no-store');
  });

  test('Surrogate-Control is obeyed and removed the same way', async ({ edge, origin }) => {
    origin.handle((_req, res) => {
      res.writeHead(200, { 'cache-control': 'private', 'surrogate-control': 'max-age=600' });
      res.end('surrogate');
    });
    await edge.get('/sc');
    const hit = await edge.get('/sc');
    expect(hit.headers['x-cache-status']).toBe('Hit');
    expect(hit.headers['surrogate-control']).toBeUndefined();
  });
});

describe('other nodes’ L1 after an invalidation', () => {
  test('every node drops its in-process copy at once (pub/sub), not after its L1 lifetime', async ({
    redis,
    origin,
  }) => {
    let version = 1;
    origin.handle((req, res) => {
      if (req.method !== 'GET') return void res.writeHead(204).end();
      res.writeHead(200, { 'cache-control': 'max-age=600' });
      res.end(`version ${version}`);
    });
    // A long L1 lifetime: only the broadcast can explain node B seeing the change.
    const a = await startEdge(redis.url, origin.url, { l1TtlMs: 60_000 });
    const b = await startEdge(redis.url, origin.url, { l1TtlMs: 60_000, serviceId: a.service });
    try {
      await a.get('/doc');
      expect((await b.get('/doc')).text).toBe('version 1'); // now in B's L1
      version = 2;
      await a.get('/doc', { method: 'PUT', body: 'new' });
      // The announcement crosses Redis: B answers from its L1 until it arrives, then asks again.
      const after = await waitFor(async () => {
        const sent = await b.get('/doc');
        return sent.text === 'version 2' && sent;
      }, 'node B to drop its copy');
      expect(after.headers['x-cache-status']).toBe('Miss');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
