import { describe, expect } from 'vitest';
import { startEdge, test } from '../../helpers/fixtures.js';

describe('request directives (RFC 9111 §5.2.1)', () => {
  test('max-age, min-fresh and max-stale decide whether the stored response may be used', async ({ redis, origin }) => {
    const clock = { now: Date.now() };
    const edge = await startEdge(redis.url, origin.url, { now: () => clock.now, l1: false });
    try {
      origin.handle((req, res) => {
        if (req.headers['if-none-match'])
          return void res.writeHead(304, { date: new Date(clock.now).toUTCString() }).end();
        res.writeHead(200, { etag: '"d"', 'cache-control': 'max-age=100', date: new Date(clock.now).toUTCString() });
        res.end('directed');
      });
      await edge.get('/d');
      clock.now += 50_000; // age 50, 50 s of freshness left
      expect((await edge.get('/d', { headers: { 'cache-control': 'max-age=60' } })).headers['x-cache-status']).toBe(
        'Hit',
      );
      expect((await edge.get('/d', { headers: { 'cache-control': 'min-fresh=10' } })).headers['x-cache-status']).toBe(
        'Hit',
      );
      const tooOld = await edge.get('/d', { headers: { 'cache-control': 'max-age=10' } });
      expect(tooOld.headers['x-cache-status']).toBe('Refresh');
      expect(tooOld.headers['cache-status']).toContain('fwd=request');
      clock.now += 150_000; // stale by 100 s (re-validated at +50 s, fresh for 100 s)
      const staleOk = await edge.get('/d', { headers: { 'cache-control': 'max-stale=200' } });
      expect(staleOk.headers['x-cache-status']).toBe('Hit');
      expect(Number(String(staleOk.headers['cache-status']).match(/ttl=(-?\d+)/)?.[1])).toBeLessThan(0);
      const staleNo = await edge.get('/d', { headers: { 'cache-control': 'max-stale=10' } });
      expect(staleNo.headers['x-cache-status']).toBe('Refresh');
    } finally {
      await edge.close();
    }
  });

  test('only-if-cached: a stored response, or 504 without contacting the origin', async ({ edge, origin }) => {
    const miss = await edge.get('/oic', { headers: { 'cache-control': 'only-if-cached' } });
    expect(miss.status).toBe(504);
    expect(miss.text).toContain('CF_ERR_NOT_CACHED');
    expect(origin.requests).toHaveLength(0);
    await edge.get('/oic');
    const hit = await edge.get('/oic', { headers: { 'cache-control': 'only-if-cached' } });
    expect(hit.status).toBe(200);
    expect(hit.headers['x-cache-status']).toBe('Hit');
    expect(origin.requests).toHaveLength(1);
  });

  test('Pragma: no-cache counts only without Cache-Control (§5.4)', async ({ edge, origin }) => {
    await edge.get('/pr');
    expect(
      (await edge.get('/pr', { headers: { pragma: 'no-cache', 'cache-control': 'max-age=3600' } })).headers[
        'x-cache-status'
      ],
    ).toBe('Hit');
    expect((await edge.get('/pr', { headers: { pragma: 'no-cache' } })).headers['x-cache-status']).toBe('Refresh');
    expect(origin.requests).toHaveLength(2);
  });
});

describe('status codes', () => {
  test.for([
    [404, 'max-age=60', true],
    [410, 'max-age=60', true],
    [301, 'max-age=60', true],
    [302, 'max-age=60', true],
    [302, '', false],
    [500, '', false],
    [204, 'max-age=60', true],
  ] as const)('%i with "%s" stored: %s', async ([status, cc, stored], { edge, origin }) => {
    origin.handle((_req, res) => {
      res.writeHead(status, cc ? { 'cache-control': cc, location: '/elsewhere' } : { location: '/elsewhere' });
      res.end(status === 204 ? undefined : 'x');
    });
    await edge.get('/s');
    const again = await edge.get('/s');
    expect(again.status).toBe(status);
    expect(again.headers['x-cache-status']).toBe(stored ? 'Hit' : 'Bypass');
  });

  test('heuristic freshness (10 % of the Last-Modified age) only when the service enables it', async ({
    redis,
    origin,
  }) => {
    const lastModified = new Date(Date.now() - 1_000_000).toUTCString();
    origin.handle((_req, res) => {
      res.writeHead(200, { 'last-modified': lastModified });
      res.end('heuristic');
    });
    const edge = await startEdge(redis.url, origin.url, {
      service: { cache: { heuristicFreshness: { enabled: true } } },
    });
    try {
      await edge.get('/h');
      const hit = await edge.get('/h');
      expect(hit.headers['x-cache-status']).toBe('Hit');
      expect(Number(String(hit.headers['cache-status']).match(/ttl=(\d+)/)?.[1])).toBeGreaterThan(90);
    } finally {
      await edge.close();
    }
  });

  test('103 Early Hints pass through to the client', async ({ edge, origin }) => {
    origin.handle((_req, res) => {
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
      res.writeHead(200, { 'cache-control': 'max-age=60' });
      res.end('hinted');
    });
    const { request } = await import('node:http');
    const hints: string[] = [];
    const { hostname, port } = new URL(edge.url);
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(
        { host: hostname, port, path: '/hints', headers: { host: edge.host }, agent: false },
        (res) => {
          let text = '';
          res.on('data', (d) => {
            text += d;
          });
          res.on('end', () => resolve(text));
        },
      );
      req.on('information', (info) => {
        if (info.statusCode === 103) hints.push(String(info.headers.link));
      });
      req.on('error', reject);
      req.end();
    });
    expect(body).toBe('hinted');
    expect(hints).toEqual(['</style.css>; rel=preload; as=style']);
  });
});
