import { describe, expect } from 'vitest';
import { startEdge, test } from '../../helpers/fixtures.js';
import { settled, waitFor } from '../../helpers/wait.js';

/** An edge whose clock the test moves (entries keep absolute times, so this is time travel). */
async function timeTravelEdge(redisUrl: string, originUrl: string) {
  const clock = { now: Date.now() };
  const edge = await startEdge(redisUrl, originUrl, { now: () => clock.now, l1: false });
  return { edge, clock };
}

describe('variants', () => {
  test("a change of the origin's Vary list replaces the old variants", async ({ edge, origin }) => {
    let vary = 'Accept-Language';
    origin.handle((req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=600', vary });
      res.end(`${vary}: ${req.headers['accept-language']} ${req.headers['x-team']}`);
    });
    await edge.get('/vv', { headers: { 'accept-language': 'fr', 'x-team': 'a' } });
    await edge.get('/vv', { headers: { 'accept-language': 'fr', 'x-team': 'a', 'cache-control': 'no-cache' } });
    vary = 'X-Team';
    // a refresh stores the response under the new Vary list; the old variants are gone
    await edge.get('/vv', { headers: { 'accept-language': 'fr', 'x-team': 'a', 'cache-control': 'no-cache' } });
    const hit = await edge.get('/vv', { headers: { 'accept-language': 'de', 'x-team': 'a' } });
    expect(hit.headers['x-cache-status']).toBe('Hit');
    expect(hit.text).toBe('X-Team: fr a');
    const other = await edge.get('/vv', { headers: { 'accept-language': 'fr', 'x-team': 'b' } });
    expect(other.headers['x-cache-status']).not.toBe('Hit');
  });
});

describe('revalidation with the origin (RFC 9111 §4.3)', () => {
  test('a stale entry is revalidated with If-None-Match; a 304 refreshes it without a body', async ({
    redis,
    origin,
  }) => {
    const { edge, clock } = await timeTravelEdge(redis.url, origin.url);
    try {
      origin.handle((req, res) => {
        if (req.headers['if-none-match'] === '"v1"') {
          res.writeHead(304, {
            etag: '"v1"',
            'cache-control': 'max-age=100',
            'x-updated': 'by-304',
            date: new Date(clock.now).toUTCString(),
          });
          return void res.end();
        }
        res.writeHead(200, {
          etag: '"v1"',
          'cache-control': 'max-age=10',
          'content-type': 'text/plain',
          'x-updated': 'no',
          date: new Date(clock.now).toUTCString(),
        });
        res.end('the body');
      });
      await edge.get('/r');
      clock.now += 20_000;
      const revalidated = await edge.get('/r');
      expect(revalidated.status).toBe(200);
      expect(revalidated.text).toBe('the body');
      expect(revalidated.headers['x-cache-status']).toBe('Refresh');
      expect(revalidated.headers['cache-status']).toContain('fwd=stale; fwd-status=304; stored');
      expect(revalidated.headers['x-updated']).toBe('by-304');
      expect(origin.requests[1]?.headers['if-none-match']).toBe('"v1"');
      // The stored headers were updated (§3.2), the length was not, and it is fresh again.
      await settled(edge); // the refreshed object is stored after the response
      clock.now += 50_000;
      const hit = await edge.get('/r');
      expect(hit.headers['x-cache-status']).toBe('Hit');
      expect(hit.headers['x-updated']).toBe('by-304');
      expect(hit.headers['content-length']).toBe('8');
      expect(hit.text).toBe('the body');
      expect(origin.requests).toHaveLength(2);
    } finally {
      await edge.close();
    }
  });

  test('Last-Modified is revalidated with If-Modified-Since', async ({ redis, origin }) => {
    const { edge, clock } = await timeTravelEdge(redis.url, origin.url);
    const lm = 'Sun, 06 Nov 1994 08:49:37 GMT';
    try {
      origin.handle((req, res) => {
        if (req.headers['if-modified-since'] === lm)
          return void res.writeHead(304, { 'cache-control': 'max-age=60' }).end();
        res.writeHead(200, { 'last-modified': lm, 'cache-control': 'max-age=1' });
        res.end('dated');
      });
      await edge.get('/lm');
      clock.now += 5_000;
      const res = await edge.get('/lm');
      expect(res.text).toBe('dated');
      expect(origin.requests[1]?.headers['if-modified-since']).toBe(lm);
      expect(res.headers['cache-status']).toContain('fwd-status=304');
    } finally {
      await edge.close();
    }
  });

  test('a 200 to a revalidation replaces the entry', async ({ redis, origin }) => {
    const { edge, clock } = await timeTravelEdge(redis.url, origin.url);
    let version = 1;
    try {
      origin.handle((_req, res) => {
        // The origin's clock agrees with the edge's (otherwise the apparent age would make it stale).
        res.writeHead(200, {
          etag: `"v${version}"`,
          'cache-control': 'max-age=10',
          date: new Date(clock.now).toUTCString(),
        });
        res.end(`version ${version}`);
      });
      await edge.get('/v');
      version = 2;
      clock.now += 20_000;
      expect((await edge.get('/v')).text).toBe('version 2');
      const hit = await edge.get('/v');
      expect(hit.headers['x-cache-status']).toBe('Hit');
      expect(hit.text).toBe('version 2');
      expect(hit.headers.etag).toBe('"v2"');
    } finally {
      await edge.close();
    }
  });

  test('a no-cache response with a validator is revalidated on every use', async ({ redis, origin }) => {
    const { edge } = await timeTravelEdge(redis.url, origin.url);
    try {
      origin.handle((req, res) => {
        if (req.headers['if-none-match'] === '"nc"')
          return void res.writeHead(304, { etag: '"nc"', 'cache-control': 'no-cache' }).end();
        res.writeHead(200, { etag: '"nc"', 'cache-control': 'no-cache' });
        res.end('must ask first');
      });
      for (let i = 0; i < 3; i++) {
        expect((await edge.get('/nc')).text).toBe('must ask first');
        await settled(edge); // else the next request may share this revalidation while it is stored
      }
      expect(origin.requests).toHaveLength(3);
      expect(origin.requests.slice(1).every((r) => r.headers['if-none-match'] === '"nc"')).toBe(true);
    } finally {
      await edge.close();
    }
  });

  test('a 304 naming another representation does not update the entry: it is fetched whole', async ({
    redis,
    origin,
  }) => {
    const { edge, clock } = await timeTravelEdge(redis.url, origin.url);
    try {
      origin.handle((req, res) => {
        const date = new Date(clock.now).toUTCString();
        if (req.headers['if-none-match']) return void res.writeHead(304, { etag: '"other"', date }).end();
        res.writeHead(200, { etag: '"v1"', 'cache-control': 'max-age=10', date });
        res.end(`full ${origin.requests.length}`);
      });
      await edge.get('/sel');
      clock.now += 20_000;
      const res = await edge.get('/sel');
      expect(res.text).toBe('full 3');
      expect(origin.requests).toHaveLength(3);
      expect(origin.requests[2]?.headers['if-none-match']).toBeUndefined();
    } finally {
      await edge.close();
    }
  });

  test('a stale entry without validators is fetched anew, unconditionally', async ({ redis, origin }) => {
    const { edge, clock } = await timeTravelEdge(redis.url, origin.url);
    try {
      await edge.get('/plain');
      clock.now += 120_000;
      await edge.get('/plain');
      expect(origin.requests).toHaveLength(2);
      expect(origin.requests[1]?.headers['if-none-match']).toBeUndefined();
      expect(origin.requests[1]?.headers['if-modified-since']).toBeUndefined();
    } finally {
      await edge.close();
    }
  });

  test.for([
    ['must-revalidate', 'max-age=10, must-revalidate'],
    ['proxy-revalidate', 'max-age=10, proxy-revalidate'],
    ['s-maxage', 's-maxage=10'],
  ] as const)('%s forbids serving stale even when the client accepts it', async ([, cc], { redis, origin }) => {
    const { edge, clock } = await timeTravelEdge(redis.url, origin.url);
    try {
      origin.handle((_req, res) => {
        res.writeHead(200, { etag: '"s"', 'cache-control': cc });
        res.end('strict');
      });
      await edge.get('/strict');
      clock.now += 60_000;
      const res = await edge.get('/strict', { headers: { 'cache-control': 'max-stale=3600' } });
      expect(res.headers['x-cache-status']).toBe('Refresh');
      expect(origin.requests).toHaveLength(2);
    } finally {
      await edge.close();
    }
  });

  test('concurrent requests for a stale entry make one revalidation', async ({ redis, origin }) => {
    const { edge, clock } = await timeTravelEdge(redis.url, origin.url);
    try {
      let everyoneHere: () => void = () => undefined;
      const held = new Promise<void>((resolve) => {
        everyoneHere = resolve;
      });
      origin.handle(async (req, res) => {
        if (req.headers['if-none-match']) {
          await held; // the revalidation answers once all twenty wait on it
          return void res.writeHead(304, { etag: '"c"', 'cache-control': 'max-age=60' }).end();
        }
        res.writeHead(200, { etag: '"c"', 'cache-control': 'max-age=10' });
        res.end('shared');
      });
      await edge.get('/c');
      await settled(edge);
      clock.now += 20_000;
      const pending = Promise.all(Array.from({ length: 20 }, () => edge.get('/c')));
      await waitFor(() => edge.app.background.waiting() === 20, 'twenty requests waiting on one revalidation');
      everyoneHere();
      const all = await pending;
      expect(all.every((r) => r.text === 'shared')).toBe(true);
      expect(origin.requests).toHaveLength(2);
    } finally {
      await edge.close();
    }
  });
});
