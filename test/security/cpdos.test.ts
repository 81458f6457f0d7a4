/**
 * Cache-poisoned denial of service: an error a request can provoke (oversized or malformed
 * headers, a method override) must never be stored and served to everyone.
 */
import { describe, expect } from 'vitest';
import { startEdge, test } from '../helpers/fixtures.js';

describe('CPDoS', () => {
  test.for([400, 411, 413, 414, 417, 431])(
    'a %i is never stored, even with explicit freshness',
    async (status, { edge, origin }) => {
      origin.handle((req, res) => {
        const bad = req.headers['x-oversized'] !== undefined;
        res.writeHead(bad ? status : 200, { 'cache-control': 'max-age=600' });
        res.end(bad ? 'error' : 'genuine');
      });
      // The edge forwards X-Oversized (it is an ordinary header): the origin answers with an error.
      await edge.get('/e', { headers: { 'x-oversized': 'x'.repeat(100) } });
      const victim = await edge.get('/e');
      expect(victim.status).toBe(200);
      expect(victim.text).toBe('genuine');
    },
  );

  test('method override headers cannot turn a GET into an error page', async ({ edge, origin }) => {
    origin.handle((req, res) => {
      const override = req.headers['x-http-method-override'];
      res.writeHead(override ? 405 : 200, { 'cache-control': 'max-age=600' });
      res.end(override ? 'not allowed' : 'genuine');
    });
    await edge.get('/m', { headers: { 'x-http-method-override': 'DELETE' } });
    expect((await edge.get('/m')).text).toBe('genuine');
  });

  test('a stored success is not replaced by an error met while revalidating', async ({ redis, origin }) => {
    const clock = { now: Date.now() };
    const edge = await startEdge(redis.url, origin.url, { now: () => clock.now, l1: false });
    let broken = false;
    origin.handle((_req, res) => {
      const date = new Date(clock.now).toUTCString();
      res.writeHead(broken ? 500 : 200, { 'cache-control': 'max-age=10', etag: '"ok"', date });
      res.end(broken ? 'error' : 'genuine');
    });
    try {
      await edge.get('/r');
      broken = true;
      clock.now += 20_000;
      const during = await edge.get('/r');
      // Within the grace window the stale success answers instead of the error (stale-if-error) …
      expect(during.status).toBe(200);
      expect(during.text).toBe('genuine');
      expect(during.headers['x-cache-status']).toBe('Stale');
      // … and without grace the error is passed on, but never stored over the success.
      const strict = await startEdge(redis.url, origin.url, {
        now: () => clock.now,
        l1: false,
        service: { cache: { stale: { graceMs: 0 } } },
      });
      try {
        broken = false;
        clock.now -= 20_000;
        await strict.get('/r');
        broken = true;
        clock.now += 20_000;
        const error = await strict.get('/r');
        expect(error.status).toBe(500);
        expect(error.headers['cache-status']).toContain('detail=error-over-success');
      } finally {
        await strict.close();
      }
      broken = false;
      // the stored success is still there to revalidate against
      origin.handle((req, res) => {
        if (req.headers['if-none-match'] === '"ok"')
          return void res.writeHead(304, { date: new Date(clock.now).toUTCString() }).end();
        res.writeHead(200);
        res.end('refetched');
      });
      expect((await edge.get('/r')).text).toBe('genuine');
    } finally {
      await edge.close();
    }
  });
});
