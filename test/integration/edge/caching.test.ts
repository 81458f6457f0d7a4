import { gzipSync } from 'node:zlib';
import { describe, expect } from 'vitest';
import { startEdge, test } from '../../helpers/fixtures.js';
import { send } from '../../helpers/http.js';
import { rawRequest, statusOf } from '../../helpers/raw.js';
import { waitFor } from '../../helpers/wait.js';

const MOBILE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1';
const MOBILE_2 = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0.0.0 Mobile Safari/537.36';
const DESKTOP = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0.0.0 Safari/537.36';

describe('hits and misses', () => {
  test('HEAD is answered from the GET entry, and a HEAD miss fills it', async ({ edge, origin }) => {
    const head = await edge.get('/h', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['content-length']).toBe(String('origin says hello to /h'.length));
    const get = await edge.get('/h');
    expect(get.headers['x-cache-status']).toBe('Hit');
    expect(get.text).toBe('origin says hello to /h');
    expect(origin.requests.map((r) => r.method)).toEqual(['GET']);
  });

  test('Age grows with time in cache and includes the upstream Age', async ({ redis, origin }) => {
    let clock = Date.now();
    const edge = await startEdge(redis.url, origin.url, { now: () => clock });
    try {
      origin.handle((_req, res) => {
        res.writeHead(200, { 'cache-control': 'max-age=100', age: '10', date: new Date(clock).toUTCString() });
        res.end('aged');
      });
      await edge.get('/aged');
      clock += 5_000;
      const hit = await edge.get('/aged');
      expect(hit.headers['x-cache-status']).toBe('Hit');
      expect(Number(hit.headers.age)).toBeGreaterThanOrEqual(15);
      expect(Number(hit.headers.age)).toBeLessThanOrEqual(16);
      clock += 90_000; // past max-age − Age: no longer fresh, fetched again (kept for grace meanwhile)
      const refetched = await edge.get('/aged');
      expect(refetched.headers['x-cache-status']).toBe('Refresh');
      expect(origin.requests).toHaveLength(2);
    } finally {
      await edge.close();
    }
  });

  test('Date is added when the origin sends none, and kept when it does', async ({ edge, origin }) => {
    origin.handle((req, res) => {
      if (req.url === '/no-date') res.sendDate = false;
      res.writeHead(200, {
        'cache-control': 'max-age=60',
        ...(req.url === '/dated' ? { date: 'Sun, 06 Nov 1994 08:49:37 GMT' } : {}),
      });
      res.end('x');
    });
    expect((await edge.get('/no-date')).headers.date).toMatch(/GMT$/);
    expect((await edge.get('/no-date')).headers.date).toMatch(/GMT$/);
    // a date far in the past makes the response stale on arrival, but the header is passed as sent
    expect((await edge.get('/dated')).headers.date).toBe('Sun, 06 Nov 1994 08:49:37 GMT');
  });
});

describe('what is never stored', () => {
  test.for([
    ['private', { 'cache-control': 'private, max-age=60' }, 'private'],
    ['no-store', { 'cache-control': 'no-store' }, 'no-store'],
    ['set-cookie', { 'cache-control': 'public, max-age=60', 'set-cookie': 'session=abc' }, 'set-cookie'],
    ['max-age=0', { 'cache-control': 'max-age=0' }, 'stale-on-arrival'],
    ['vary star', { 'cache-control': 'max-age=60', vary: 'Accept, *' }, 'vary-star'],
    ['no freshness', {}, 'no-freshness'],
  ] as const)(
    '%s: every request goes to the origin, and Cache-Status says why',
    async ([, headers, detail], { edge, origin }) => {
      let n = 0;
      origin.handle((_req, res) => {
        res.writeHead(200, headers as Record<string, string>);
        res.end(`response ${++n}`);
      });
      const first = await edge.get('/p');
      const second = await edge.get('/p');
      expect(first.text).toBe('response 1');
      expect(second.text).toBe('response 2');
      expect(second.headers['x-cache-status']).toBe('Bypass');
      expect(second.headers['cache-status']).toContain(`detail=${detail}`);
      expect(second.headers['cache-status']).not.toContain('stored');
      expect(origin.requests).toHaveLength(2);
    },
  );

  test('a response to a request with Authorization is stored only when explicitly public', async ({ edge, origin }) => {
    origin.handle((req, res) => {
      res.writeHead(200, { 'cache-control': req.url === '/public' ? 'public, max-age=60' : 'max-age=60' });
      res.end(`for ${req.headers.authorization}`);
    });
    await edge.get('/mine', { headers: { authorization: 'Bearer alice' } });
    const bob = await edge.get('/mine', { headers: { authorization: 'Bearer bob' } });
    expect(bob.text).toBe('for Bearer bob');
    await edge.get('/public', { headers: { authorization: 'Bearer alice' } });
    expect((await edge.get('/public')).headers['x-cache-status']).toBe('Hit');
  });

  test('request Cache-Control: no-store passes to the origin and stores nothing', async ({ edge, origin }) => {
    const bypass = await edge.get('/n', { headers: { 'cache-control': 'no-store' } });
    expect(bypass.headers['x-cache-status']).toBe('Bypass');
    expect((await edge.get('/n')).headers['x-cache-status']).toBe('Miss');
    expect(origin.requests).toHaveLength(2);
  });

  test('request no-cache (or Pragma alone) refetches and refreshes the entry', async ({ edge, origin }) => {
    await edge.get('/r');
    const refresh = await edge.get('/r', { headers: { 'cache-control': 'no-cache' } });
    expect(refresh.headers['x-cache-status']).toBe('Refresh');
    const pragma = await edge.get('/r', { headers: { pragma: 'no-cache' } });
    expect(pragma.headers['x-cache-status']).toBe('Refresh');
    expect(origin.requests).toHaveLength(3);
    expect((await edge.get('/r')).headers['x-cache-status']).toBe('Hit');
  });
});

describe('the normalised key', () => {
  test('parameter order and tracking parameters share one entry; the origin never sees them', async ({
    edge,
    origin,
  }) => {
    await edge.get('/s?b=2&a=1&utm_source=mail&fbclid=x');
    const hit = await edge.get('/s?a=1&b=2&gclid=y');
    expect(hit.headers['x-cache-status']).toBe('Hit');
    expect(origin.requests.map((r) => r.url)).toEqual(['/s?a=1&b=2']);
  });

  test('the origin receives the canonical Accept-Encoding the key used', async ({ edge, origin }) => {
    await edge.get('/ae', { headers: { 'accept-encoding': 'gzip, deflate, br, zstd' } });
    await edge.get('/ae2');
    expect(origin.requests[0]?.headers['accept-encoding']).toBe('br, gzip');
    expect(origin.requests[1]?.headers['accept-encoding']).toBe('identity');
  });

  test('Vary: User-Agent keeps one copy per device bucket', async ({ edge, origin }) => {
    origin.handle((req, res) => {
      const mobile = /Mobi|Android|iPhone/.test(req.headers['user-agent'] ?? '');
      res.writeHead(200, { 'cache-control': 'max-age=60', vary: 'User-Agent' });
      res.end(mobile ? 'mobile layout' : 'desktop layout');
    });
    expect((await edge.get('/d', { headers: { 'user-agent': MOBILE } })).text).toBe('mobile layout');
    expect((await edge.get('/d', { headers: { 'user-agent': DESKTOP } })).text).toBe('desktop layout');
    const m2 = await edge.get('/d', { headers: { 'user-agent': MOBILE_2 } });
    expect(m2.text).toBe('mobile layout');
    expect(m2.headers['x-cache-status']).toBe('Hit');
    const d2 = await edge.get('/d', { headers: { 'user-agent': `${DESKTOP} Edg/120` } });
    expect(d2.text).toBe('desktop layout');
    expect(d2.headers['x-cache-status']).toBe('Hit');
    expect(origin.requests).toHaveLength(2);
  });

  test('a varied header the edge has no rule for is keyed verbatim; a second value is a vary-miss', async ({
    edge,
    origin,
  }) => {
    origin.handle((req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', vary: 'Accept-Language' });
      res.end(`lang ${req.headers['accept-language']}`);
    });
    await edge.get('/l', { headers: { 'accept-language': 'fr' } });
    const de = await edge.get('/l', { headers: { 'accept-language': 'de' } });
    expect(de.text).toBe('lang de');
    expect(de.headers['cache-status']).toContain('fwd=vary-miss');
    expect((await edge.get('/l', { headers: { 'accept-language': 'fr' } })).text).toBe('lang fr');
  });

  test('an origin that gzips without Vary: Accept-Encoding never gets gzip served to identity clients', async ({
    edge,
    origin,
  }) => {
    origin.handle((req, res) => {
      const gzip = (req.headers['accept-encoding'] ?? '').includes('gzip');
      res.writeHead(200, { 'cache-control': 'max-age=60', ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
      res.end(gzip ? gzipSync('text') : 'text');
    });
    await edge.get('/z', { headers: { 'accept-encoding': 'gzip' } });
    const plain = await edge.get('/z');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.text).toBe('text');
  });

  test('X-Cache-Key shows the readable key when the service exposes it', async ({ redis, origin }) => {
    const edge = await startEdge(redis.url, origin.url, { service: { key: { exposeKeyHeader: true } } });
    try {
      const res = await edge.get('/k?b=2&a=1&utm_medium=x');
      expect(res.headers['x-cache-key']).toBe(`GET http://${edge.host}/k?a=1&b=2`);
      expect(res.headers['cache-status']).toContain(`key="GET http://${edge.host}/k?a=1&b=2"`);
    } finally {
      await edge.close();
    }
  });

  test('X-Cache-Key is absent by default', async ({ edge }) => {
    expect((await edge.get('/k')).headers['x-cache-key']).toBeUndefined();
  });
});

describe('hosts and methods', () => {
  test('an unknown host gets 421 and the origin is never contacted', async ({ edge, origin }) => {
    const res = await send(edge.url, { path: '/', headers: { host: 'unknown.example' } });
    expect(res.status).toBe(421);
    expect(res.text).toContain('CF_ERR_UNKNOWN_SERVICE');
    expect(res.text).toContain('unknown.example');
    expect(origin.requests).toHaveLength(0);
  });

  test('Host is matched case-insensitively, with the default port ignored', async ({ edge }) => {
    const res = await send(edge.url, { path: '/case', headers: { host: `${edge.host.toUpperCase()}:80` } });
    expect(res.status).toBe(200);
    expect((await edge.get('/case')).headers['x-cache-status']).toBe('Hit');
  });

  test('an invalid Host gets 400 with its own code; a missing one another', async ({ edge, origin }) => {
    const res = await send(edge.url, { path: '/', headers: { host: 'bad host!' } });
    expect(res.status).toBe(400);
    expect(res.text).toContain('code: CF_ERR_INVALID_HOST');
    const missing = await rawRequest(edge.url, 'GET / HTTP/1.1\r\nConnection: close\r\n\r\n');
    expect(statusOf(missing)).toBe(400);
    expect(missing).toContain('code: CF_ERR_MISSING_HOST');
    expect(origin.requests).toHaveLength(0);
  });

  test('POST passes through with its body; nothing is stored', async ({ edge, origin }) => {
    origin.handle((req, res, recorded) => {
      res.writeHead(201, { 'cache-control': 'max-age=60' });
      res.end(`got ${recorded.body.toString()} via ${req.method}`);
    });
    const res = await edge.get('/form', {
      method: 'POST',
      body: 'a=1&b=2',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(201);
    expect(res.text).toBe('got a=1&b=2 via POST');
    expect(res.headers['x-cache-status']).toBe('Bypass');
    expect(res.headers['cache-status']).toContain('fwd=method');
    expect(origin.requests[0]?.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  test('TRACE is refused at the edge', async ({ edge, origin }) => {
    expect((await edge.get('/', { method: 'TRACE' })).status).toBe(405);
    expect(origin.requests).toHaveLength(0);
  });

  test('an unreachable origin gives a clear 502', async ({ redis, origin }) => {
    const edge = await startEdge(redis.url, 'http://127.0.0.1:1', {});
    try {
      const res = await edge.get('/down');
      expect(res.status).toBe(502);
      expect(res.text).toContain('CF_ERR_ORIGIN_CONNECT');
      expect(origin.requests).toHaveLength(0);
    } finally {
      await edge.close();
    }
  });

  test('a slow origin gives a clear 504', async ({ redis, origin }) => {
    origin.handle(() => undefined); // never answers
    const edge = await startEdge(redis.url, origin.url, { service: { origin: { responseTimeoutMs: 200 } } });
    try {
      const res = await edge.get('/slow');
      expect(res.status).toBe(504);
      expect(res.text).toContain('CF_ERR_ORIGIN_TIMEOUT');
    } finally {
      await edge.close();
    }
  });
});

describe('when the store cannot answer', () => {
  test('requests still reach the origin and get its response', async ({ redis, origin }) => {
    const edge = await startEdge(redis.url, origin.url, { l1: false });
    try {
      await edge.redis.quit(); // the edge's own Redis connection is gone
      const res = await edge.get('/store-down');
      expect(res.status).toBe(200);
      expect(res.text).toBe('origin says hello to /store-down');
      expect(origin.requests).toHaveLength(1);
    } finally {
      await edge.app.close();
    }
  });
});

describe('why a response was not stored', () => {
  test('is logged once per URL while it is remembered, with the reason', async ({ redis, origin }) => {
    const logLines: Record<string, unknown>[] = [];
    const edge = await startEdge(redis.url, origin.url, { logLines });
    try {
      origin.handle((_req, res) => {
        res.writeHead(200, { 'cache-control': 'private, max-age=60' });
        res.end('mine');
      });
      for (let i = 0; i < 3; i++) await edge.get('/mine');
      // The log line follows the marker's write to Redis.
      await waitFor(() => logLines.some((l) => l.msg === 'response not stored'), 'the log line');
      const notStored = logLines.filter((l) => l.msg === 'response not stored');
      expect(notStored).toHaveLength(1);
      expect(notStored[0]).toMatchObject({
        reason: 'private',
        service: edge.service,
        url: `GET http://${edge.host}/mine`,
      });
    } finally {
      await edge.close();
    }
  });
});
