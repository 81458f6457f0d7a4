/**
 * Operators' cache rules through a real edge (docs/rules.md): each action as a client and the
 * origin see it, and how it meets the HTTP caching rules.
 */
import { describe, expect } from 'vitest';
import { OPERATOR_TOKEN, startAdmin } from '../../helpers/admin.js';
import { startEdge, type TestEdge, test } from '../../helpers/fixtures.js';
import type { TestOrigin } from '../../helpers/origin.js';
import { waitFor } from '../../helpers/wait.js';

/** An origin that answers every path cacheably for a minute, counting requests per path. */
function cacheableOrigin(origin: TestOrigin, headers: Record<string, string> = {}) {
  origin.handle((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60', ...headers });
    res.end(`origin ${req.url}`);
  });
  return (path: string) => origin.requests.filter((r) => r.url === path).length;
}

describe('cache rules', () => {
  test('bypass: neither looked up nor stored, and said so', async ({ redis, origin }) => {
    const fetched = cacheableOrigin(origin);
    const edge = await startEdge(redis.url, origin.url, {
      service: {
        rules: [
          { name: 'errors', match: { status: [404] }, edgeTtl: '1m' },
          { name: 'no cart', match: { prefix: '/cart' }, bypass: true },
        ],
      },
      config: { admin: { tokens: { operator: [OPERATOR_TOKEN] } } },
    });
    const admin = await startAdmin(edge);
    try {
      // explain names the rule and why, without contacting the origin.
      const explained = await admin.call('POST', '/v1/explain', { url: `http://${edge.host}/cart/items` });
      expect(explained.json.rules.request).toMatchObject({ name: 'no cart', match: { prefix: '/cart' } });
      expect(explained.json.rules.candidates.map((r: { name: string }) => r.name)).toEqual(['errors', 'no cart']);
      expect(explained.json.states).toEqual(['recv', 'pass:rule', 'deliver:pass']);
      expect(origin.requests).toHaveLength(0);
      for (let i = 0; i < 2; i++) {
        const answer = await edge.get('/cart/items');
        expect(answer.text).toBe('origin /cart/items');
        expect(answer.headers['cache-status']).toContain('fwd=bypass');
        expect(answer.headers['cache-status']).toContain('detail="rule no cart"');
      }
      expect(fetched('/cart/items')).toBe(2);
      await edge.get('/shop');
      expect((await edge.get('/shop')).headers['x-cache-status']).toBe('Hit');
      expect(fetched('/shop')).toBe(1);
    } finally {
      await admin.close();
      await edge.close();
    }
  });

  test('edgeTtl: stored for that long whatever the origin says, errors excepted, and said so', async ({
    redis,
    origin,
  }) => {
    origin.handle((req, res) => {
      const failing = req.url === '/static/broken.css';
      res.writeHead(failing ? 500 : 200, {
        'content-type': 'text/css',
        'cache-control': req.url === '/static/a.css' ? 'no-store' : 'max-age=0',
      });
      res.end(`origin ${req.url}`);
    });
    const edge = await startEdge(redis.url, origin.url, {
      service: { rules: [{ name: 'static', match: { prefix: '/static/' }, edgeTtl: '1d' }] },
    });
    try {
      for (const path of ['/static/a.css', '/static/b.css']) {
        const miss = await edge.get(path);
        expect(miss.headers['cache-status']).toContain('stored');
        expect(miss.headers['cache-status']).toContain('detail="rule static"');
        const hit = await waitForHit(edge, path);
        expect(hit.headers['cache-status']).toMatch(/hit; ttl=86[34]\d\d/);
        expect(hit.headers['cache-status']).toContain('detail="rule static"');
      }
      // An error is not stored for a rule's edgeTtl: only statuses a rule names (statusTtl) are.
      await edge.get('/static/broken.css');
      await edge.get('/static/broken.css');
      expect(origin.requests.filter((r) => r.url === '/static/broken.css')).toHaveLength(2);
    } finally {
      await edge.close();
    }
  });

  test('statusTtl: these statuses stored for that long; a request error never', async ({ redis, origin }) => {
    origin.handle((req, res) => {
      const status = Number(req.url?.slice(1));
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(`status ${status}`);
    });
    const edge = await startEdge(redis.url, origin.url, {
      service: {
        rules: [{ name: 'errors', match: { status: [404, 410, 400] }, statusTtl: { 404: '1m', 410: '1h', 400: '1m' } }],
      },
    });
    try {
      for (const path of ['/404', '/410']) {
        await edge.get(path);
        expect((await waitForHit(edge, path)).headers['cache-status']).toContain('detail="rule errors"');
      }
      // CPDoS: an error a request can provoke is never stored, whatever a rule says.
      await edge.get('/400');
      expect((await edge.get('/400')).headers['x-cache-status']).not.toBe('Hit');
      expect(origin.requests.filter((r) => r.url === '/400')).toHaveLength(2);
    } finally {
      await edge.close();
    }
  });

  test('noStoreTypes: responses of these types are never stored', async ({ redis, origin }) => {
    origin.handle((req, res) => {
      res.writeHead(200, {
        'content-type': req.url === '/api' ? 'application/json' : 'text/html',
        'cache-control': 'max-age=600',
      });
      res.end('{}');
    });
    const edge = await startEdge(redis.url, origin.url, {
      service: { rules: [{ name: 'no json', match: {}, noStoreTypes: ['application/json'] }] },
    });
    try {
      const first = await edge.get('/api');
      expect(first.headers['cache-status']).toContain('detail=rule');
      await edge.get('/api');
      expect(origin.requests.filter((r) => r.url === '/api')).toHaveLength(2);
      await edge.get('/page');
      expect((await waitForHit(edge, '/page')).headers['x-cache-status']).toBe('Hit');
    } finally {
      await edge.close();
    }
  });

  test('a forced TTL never stores what belongs to one visitor', async ({ redis, origin }) => {
    origin.handle((req, res) => {
      const headers: Record<string, string> = { 'content-type': 'text/plain', 'cache-control': 'max-age=600' };
      if (req.url === '/private') headers['cache-control'] = 'private, max-age=600';
      if (req.url === '/cookie') headers['set-cookie'] = 'session=abc';
      if (req.url === '/star') headers.vary = '*';
      res.writeHead(200, headers);
      res.end(`for ${req.url}`);
    });
    const edge = await startEdge(redis.url, origin.url, {
      service: { rules: [{ name: 'everything', match: {}, edgeTtl: '1d' }] },
    });
    try {
      const cases: [string, Record<string, string>, string][] = [
        ['/private', {}, 'private'],
        ['/cookie', {}, 'set-cookie'],
        ['/star', {}, 'vary-star'],
        ['/auth', { authorization: 'Bearer x' }, 'authorization'],
      ];
      for (const [path, headers, reason] of cases) {
        const answer = await edge.get(path, { headers });
        expect(answer.headers['cache-status'], path).toContain(`detail=${reason}`);
        await edge.get(path, { headers });
        expect(
          origin.requests.filter((r) => r.url === path),
          path,
        ).toHaveLength(2);
      }
    } finally {
      await edge.close();
    }
  });
  test('browserTtl: what clients see in Cache-Control, never making a private answer shareable', async ({
    redis,
    origin,
  }) => {
    origin.handle((req, res) => {
      const control = req.url === '/private' ? 'private, max-age=30' : 'public, s-maxage=600, max-age=5, no-transform';
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': control });
      res.end(`for ${req.url}`);
    });
    const edge = await startEdge(redis.url, origin.url, {
      service: { rules: [{ name: 'browsers', match: {}, browserTtl: '1h' }] },
    });
    try {
      expect((await edge.get('/page')).headers['cache-control']).toBe('public, no-transform, max-age=3600');
      const hit = await waitForHit(edge, '/page');
      expect(hit.headers['cache-control']).toBe('public, no-transform, max-age=3600');
      // The edge still keeps it for the origin's s-maxage, not the browser TTL.
      expect(hit.headers['cache-status']).toMatch(/ttl=(59\d|600)/);
      expect((await edge.get('/private')).headers['cache-control']).toBe('private, max-age=30');
    } finally {
      await edge.close();
    }
  });

  test('maxObjectBytes: larger responses under the rule stream through and are not stored', async ({
    redis,
    origin,
  }) => {
    origin.handle((req, res) => {
      const body = Buffer.alloc(req.url?.includes('big') ? 4096 : 512, 'x');
      // Declared length, except /files/chunked-big: its size is found while it streams.
      const length = req.url?.includes('chunked') ? {} : { 'content-length': String(body.length) };
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=600', ...length });
      res.end(body);
    });
    const edge = await startEdge(redis.url, origin.url, {
      service: { rules: [{ name: 'small files', match: { prefix: '/files/' }, maxObjectBytes: 1024 }] },
    });
    try {
      const big = await edge.get('/files/big');
      expect(big.body.length).toBe(4096);
      expect(big.headers['cache-status']).toContain('detail=too-large');
      await edge.get('/files/big');
      expect(origin.requests.filter((r) => r.url === '/files/big')).toHaveLength(2);
      for (let i = 0; i < 2; i++) expect((await edge.get('/files/chunked-big')).body.length).toBe(4096);
      expect(origin.requests.filter((r) => r.url === '/files/chunked-big')).toHaveLength(2);
      await edge.get('/files/small');
      expect((await waitForHit(edge, '/files/small')).body.length).toBe(512);
      // Elsewhere the service's own limit (8 MiB) stands.
      await edge.get('/other/big');
      expect((await waitForHit(edge, '/other/big')).body.length).toBe(4096);
    } finally {
      await edge.close();
    }
  });
  test('staleWhileRevalidate and staleIfError: the rule’s windows, not the origin’s', async ({ redis, origin }) => {
    // One second of freshness, and no stale serving of the origin's own.
    const { edge, state } = await staleSetup(redis.url, origin, 'max-age=1', [
      { name: 'swr', match: { prefix: '/swr' }, staleWhileRevalidate: '1m' },
      { name: 'sie', match: { prefix: '/sie' }, staleIfError: '1h' },
    ]);
    try {
      await edge.get('/swr');
      await edge.get('/sie');
      await waitForHit(edge, '/swr');
      await waitForHit(edge, '/sie');
      state.clock += 30_000;
      // Stale for 29 s: within the rule's stale-while-revalidate, answered at once and refreshed.
      const updating = await edge.get('/swr');
      expect(updating.headers['x-cache-status']).toBe('Updating');
      await waitFor(() => origin.requests.filter((r) => r.url === '/swr').length === 2, 'the background refresh');
      // The origin fails: within the rule's stale-if-error, the stored answer stands in.
      state.failing = true;
      const stale = await edge.get('/sie');
      expect(stale.headers['x-cache-status']).toBe('Stale');
      expect(stale.text).toBe('origin /sie');
    } finally {
      await edge.close();
    }
  });
  test('query: ignored, or only some parameters kept — in the key and for the origin alike', async ({
    redis,
    origin,
  }) => {
    origin.handle((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600' });
      res.end(`origin saw ${req.url}`);
    });
    const edge = await startEdge(redis.url, origin.url, {
      service: {
        rules: [
          { name: 'images', match: { extensions: ['png'] }, query: 'ignore' },
          { name: 'listing', match: { prefix: '/list' }, query: { keep: ['page', 'sort'] } },
        ],
      },
    });
    try {
      expect((await edge.get('/a.png?v=1&utm=x')).text).toBe('origin saw /a.png');
      const again = await waitForHit(edge, '/a.png?v=2');
      expect(again.text).toBe('origin saw /a.png');
      expect((await edge.get('/list?sort=new&session=abc&page=2')).text).toBe('origin saw /list?page=2&sort=new');
      const other = await waitForHit(edge, '/list?page=2&sort=new&tracking=1');
      expect(other.text).toBe('origin saw /list?page=2&sort=new');
      expect((await edge.get('/list?page=3')).text).toBe('origin saw /list?page=3');
      expect(origin.requests.map((r) => r.url)).toEqual(['/a.png', '/list?page=2&sort=new', '/list?page=3']);
    } finally {
      await edge.close();
    }
  });

  test('key: a header and a cookie value in the key; only keyed cookies reach the origin', async ({
    redis,
    origin,
  }) => {
    origin.handle((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600' });
      res.end(`tier ${req.headers['x-tier'] ?? '-'} cookies ${req.headers.cookie ?? '-'}`);
    });
    const edge = await startEdge(redis.url, origin.url, {
      service: {
        rules: [{ name: 'prices', match: { prefix: '/prices' }, key: { headers: ['x-tier'], cookies: ['currency'] } }],
      },
    });
    try {
      const eur = { cookie: 'session=secret; currency=EUR', 'x-tier': 'gold' };
      expect((await edge.get('/prices', { headers: eur })).text).toBe('tier gold cookies currency=EUR');
      // Stored although a cookie was sent: the only cookie the origin saw is in the key.
      const hit = await waitForHit(edge, '/prices', { cookie: 'currency=EUR; other=1', 'x-tier': 'gold' });
      expect(hit.text).toBe('tier gold cookies currency=EUR');
      expect((await edge.get('/prices', { headers: { cookie: 'currency=USD', 'x-tier': 'gold' } })).text).toBe(
        'tier gold cookies currency=USD',
      );
      expect((await edge.get('/prices', { headers: { cookie: 'currency=EUR', 'x-tier': 'silver' } })).text).toBe(
        'tier silver cookies currency=EUR',
      );
      expect(origin.requests).toHaveLength(3);
      expect(origin.requests.every((r) => !String(r.headers.cookie).includes('session'))).toBe(true);
    } finally {
      await edge.close();
    }
  });
  test('RFC rules a rule does not bend: must-revalidate forbids its stale windows; request no-store passes', async ({
    redis,
    origin,
  }) => {
    const { edge, state } = await staleSetup(redis.url, origin, 'max-age=1, must-revalidate', [
      { name: 'stale', match: {}, staleIfError: '1h', staleWhileRevalidate: '1h', edgeTtl: '1s' },
    ]);
    try {
      await edge.get('/strict');
      await waitForHit(edge, '/strict');
      state.clock += 30_000;
      state.failing = true;
      // must-revalidate (RFC 9111 §4.2.4): never served stale, whatever the rule's windows.
      const answer = await edge.get('/strict');
      expect(answer.headers['x-cache-status']).not.toBe('Stale');
      expect(answer.headers['x-cache-status']).not.toBe('Updating');
      expect(answer.status).toBeGreaterThanOrEqual(500);
      // A request that says no-store neither reads nor fills the cache, rules or not.
      state.failing = false;
      const before = origin.requests.length;
      const passed = await edge.get('/strict', { headers: { 'cache-control': 'no-store' } });
      expect(passed.headers['cache-status']).toContain('fwd=bypass');
      expect(origin.requests.length).toBe(before + 1);
    } finally {
      await edge.close();
    }
  });
});

/** Asks until the answer is a hit (the store completes after the miss's response). */
async function waitForHit(edge: TestEdge, path: string, headers: Record<string, string> = {}) {
  return waitFor(async () => {
    const answer = await edge.get(path, { headers });
    return answer.headers['x-cache-status'] === 'Hit' && answer;
  }, `${path} to be stored`);
}

/**
 * An origin answering with `cacheControl` until told to fail (503), and an edge without L1, on a
 * clock the test moves, with no grace of its own: what stale serving a rule allows shows alone.
 */
async function staleSetup(redisUrl: string, origin: TestOrigin, cacheControl: string, rules: unknown[]) {
  const state = { clock: Date.now(), failing: false };
  origin.handle((req, res) => {
    if (state.failing) {
      res.writeHead(503, { 'content-type': 'text/plain' });
      return void res.end('down');
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': cacheControl });
    res.end(`origin ${req.url}`);
  });
  const edge = await startEdge(redisUrl, origin.url, {
    now: () => state.clock,
    l1: false,
    service: { cache: { stale: { graceMs: 0 } }, rules },
  });
  return { edge, state };
}
