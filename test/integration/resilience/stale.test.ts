/**
 * Serving stale content (RFC 5861): stale-while-revalidate answers at once with one background
 * refresh across every node; on origin failure (refused, timeout, reset mid-body, 5xx) the stale
 * entry answers within stale-if-error or the service's grace, and never beyond it or against
 * must-revalidate (unless the service overrides that for outages).
 */
import { describe, expect } from 'vitest';
import { decodeRecord } from '../../../src/store/codec.js';
import { newServiceId, startEdge, test } from '../../helpers/fixtures.js';
import { startOrigin, type TestOrigin } from '../../helpers/origin.js';
import { waitFor } from '../../helpers/wait.js';

interface Clock {
  now: number;
}

async function nodes(redisUrl: string, originUrl: string, clock: Clock, service: Record<string, unknown> = {}) {
  const setup = { serviceId: newServiceId(), now: () => clock.now, l1: false, service };
  return [await startEdge(redisUrl, originUrl, setup), await startEdge(redisUrl, originUrl, setup)] as const;
}

function serve(origin: TestOrigin, clock: Clock, cacheControl: string, body: () => string): void {
  origin.handle((_req, res) => {
    res.writeHead(200, { 'cache-control': cacheControl, date: new Date(clock.now).toUTCString(), etag: `"${body()}"` });
    res.end(body());
  });
}

describe('stale-while-revalidate', () => {
  test('stale entries answer at once while exactly one request across the nodes refreshes them', async ({
    redis,
    origin,
  }) => {
    const clock = { now: Date.now() };
    const [a, b] = await nodes(redis.url, origin.url, clock);
    try {
      serve(origin, clock, 'max-age=10, stale-while-revalidate=60', () => 'v1');
      await a.get('/swr');
      clock.now += 15_000; // stale, within the window
      let release: () => void = () => undefined;
      const held = new Promise<void>((r) => {
        release = r;
      });
      origin.handle(async (_req, res) => {
        await held; // the origin answers only when the test says so
        res.writeHead(200, {
          'cache-control': 'max-age=10, stale-while-revalidate=60',
          date: new Date(clock.now).toUTCString(),
        });
        res.end('v2');
      });
      const before = origin.requests.length;
      const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).get('/swr')));
      // Every client got the stale copy while the origin had not answered yet.
      for (const answer of answers) {
        expect(answer.text).toBe('v1');
        expect(answer.headers['x-cache-status']).toBe('Updating');
        expect(answer.headers['cache-status']).toContain('detail=stale-while-revalidate');
      }
      await waitFor(() => origin.requests.length > before, 'the background refresh to reach the origin');
      expect(origin.requests.length).toBe(before + 1); // one refresh for twelve requests, two nodes
      release();
      await waitFor(async () => (await b.get('/swr')).text === 'v2', 'the refreshed entry on node b');
      const after = await a.get('/swr');
      expect(after.headers['x-cache-status']).toBe('Hit');
      expect(origin.requests.length).toBe(before + 1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('past the window, or forbidden by s-maxage, the request waits for revalidation', async ({ redis, origin }) => {
    const clock = { now: Date.now() };
    const [a, b] = await nodes(redis.url, origin.url, clock);
    try {
      let version = 1;
      serve(origin, clock, 'max-age=10, stale-while-revalidate=5', () => `v${version}`);
      await a.get('/late');
      clock.now += 20_000; // 10 s past freshness, beyond the 5 s window
      version = 2;
      const late = await a.get('/late');
      expect(late.headers['x-cache-status']).toBe('Refresh');
      expect(late.text).toBe('v2');

      serve(origin, clock, 's-maxage=10, stale-while-revalidate=60', () => `v${version}`);
      await b.get('/shared');
      clock.now += 15_000;
      version = 3;
      const forbidden = await b.get('/shared');
      expect(forbidden.headers['x-cache-status']).toBe('Refresh'); // RFC 9111 §4.2.4
      expect(forbidden.text).toBe('v3');
    } finally {
      await a.close();
      await b.close();
    }
  });
});

type Failure = 'refused' | 'timeout' | 'reset mid-body' | '503';

/** Makes a running origin fail the given way; returns how to undo a refusal. */
async function breakOrigin(origin: TestOrigin, how: Failure): Promise<void> {
  if (how === 'refused') return origin.close();
  origin.handle((_req, res) => {
    if (how === 'timeout') return; // never answers
    if (how === '503') {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('down for maintenance');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000', 'cache-control': 'max-age=10' });
    // The head and a little of the body go out, then the connection is reset mid-body.
    res.write('partial', () => res.socket?.destroy());
  });
}

describe('stale-if-error', () => {
  test.for<[Failure, number]>([
    ['refused', 502],
    ['timeout', 504],
    ['reset mid-body', 0],
    ['503', 503],
  ])(
    'origin %s: the stale entry answers within the window, a clean error (%i) beyond it',
    async ([how, beyond], { redis }) => {
      const origin = await startOrigin();
      const clock = { now: Date.now() };
      const edge = await startEdge(redis.url, origin.url, {
        now: () => clock.now,
        l1: false,
        service: { origin: { responseTimeoutMs: 300 }, cache: { stale: { graceMs: 60_000 } } },
      });
      try {
        serve(origin, clock, 'max-age=10', () => 'genuine');
        await edge.get('/page');
        await edge.get('/other');
        await breakOrigin(origin, how);
        clock.now += 30_000; // stale by 20 s, within the 60 s grace
        const stale = await edge.get('/page');
        expect(stale.status).toBe(200);
        expect(stale.text).toBe('genuine');
        expect(stale.headers['x-cache-status']).toBe('Stale');
        expect(stale.headers['cache-status']).toContain('fwd=stale');
        if (how === '503') expect(stale.headers['cache-status']).toContain('fwd-status=503');
        expect(Number(stale.headers.age)).toBeGreaterThanOrEqual(30);

        clock.now += 60_000; // beyond the grace window
        if (how === 'reset mid-body') {
          // Headers were already on their way: the client sees a cut connection, never a short body
          // that looks complete (a clean error page is only possible before the first byte).
          await expect(edge.get('/other')).rejects.toThrow();
          return;
        }
        const gone = await edge.get('/other');
        expect(gone.status).toBe(beyond);
        if (how !== '503') expect(gone.text).toMatch(/CF_ERR_ORIGIN_(CONNECT|TIMEOUT|BROKEN)/);
      } finally {
        await edge.close();
        await origin.close().catch(() => undefined);
      }
    },
  );

  test('the origin’s own stale-if-error wins over the grace; must-revalidate forbids, unless overridden', async ({
    redis,
  }) => {
    const origin = await startOrigin();
    const clock = { now: Date.now() };
    const strict = await startEdge(redis.url, origin.url, { now: () => clock.now, l1: false });
    const lenient = await startEdge(redis.url, origin.url, {
      now: () => clock.now,
      l1: false,
      service: { cache: { stale: { overrideRevalidateOnError: true } } },
    });
    try {
      origin.handle((req, res) => {
        const cc = req.url === '/strict' ? 'max-age=10, must-revalidate' : 'max-age=10, stale-if-error=5';
        res.writeHead(200, { 'cache-control': cc, date: new Date(clock.now).toUTCString() });
        res.end(`stored ${req.url}`);
      });
      for (const edge of [strict, lenient]) {
        await edge.get('/strict');
        await edge.get('/short');
      }
      await breakOrigin(origin, '503');
      clock.now += 12_000; // stale by 2 s
      expect((await strict.get('/strict')).status).toBe(503); // must-revalidate: no stale
      expect((await lenient.get('/strict')).headers['x-cache-status']).toBe('Stale'); // the outage override
      expect((await strict.get('/short')).headers['x-cache-status']).toBe('Stale');
      clock.now += 10_000; // stale by 12 s: past the origin's 5 s, though within the 1-day grace
      expect((await strict.get('/short')).status).toBe(503);
    } finally {
      await strict.close();
      await lenient.close();
      await origin.close();
    }
  });

  test('an origin that stops allowing storage takes the stored copy with it: never served stale afterwards', async ({
    redis,
  }) => {
    const origin = await startOrigin();
    const clock = { now: Date.now() };
    const edge = await startEdge(redis.url, origin.url, { now: () => clock.now, l1: false });
    try {
      serve(origin, clock, 'max-age=10', () => 'public v1');
      await edge.get('/account');
      clock.now += 20_000;
      origin.handle((_req, res) => {
        res.writeHead(200, { 'cache-control': 'private', date: new Date(clock.now).toUTCString() });
        res.end('now personal');
      });
      const personal = await edge.get('/account');
      expect(personal.text).toBe('now personal');
      expect(personal.headers['x-cache-status']).toBe('Bypass');
      // The outdated copy is removed, then the hit-for-miss marker is left: wait for the marker.
      await waitFor(async () => {
        const client = redis.client();
        const keys = await client.keys(`cf:{${edge.service}}:e:*`);
        const records = await Promise.all(keys.map(async (k) => decodeRecord((await client.getBuffer(k)) as Buffer)));
        return records.length > 0 && records.every((r) => r?.kind === 'uncacheable');
      }, 'the stored copy to give way to a hit-for-miss marker');
      await breakOrigin(origin, '503');
      const down = await edge.get('/account');
      expect(down.status).toBe(503); // not the outdated public copy
      expect(down.text).not.toContain('public v1');
    } finally {
      await edge.close();
      await origin.close();
    }
  });

  test('an entry lives in Redis for its freshness plus the longest stale window', async ({ redis, origin }) => {
    const edge = await startEdge(redis.url, origin.url, { service: { cache: { stale: { graceMs: 3_600_000 } } } });
    try {
      origin.handle((req, res) => {
        const cc = req.url === '/swr' ? 'max-age=60, stale-while-revalidate=7200' : 'max-age=60';
        res.writeHead(200, { 'cache-control': cc });
        res.end('x');
      });
      await edge.get('/grace');
      await edge.get('/swr');
      const client = redis.client();
      const keys = await client.keys(`cf:{${edge.service}}:e:*`);
      const pttls = (await Promise.all(keys.map((k) => client.pttl(k)))).sort((x, y) => x - y);
      // 60 s + 1 h grace, and 60 s + 2 h stale-while-revalidate (the longer window wins)
      expect(pttls).toHaveLength(2);
      expect(pttls[0]).toBeGreaterThan(3_655_000);
      expect(pttls[0]).toBeLessThanOrEqual(3_660_000);
      expect(pttls[1]).toBeGreaterThan(7_255_000);
    } finally {
      await edge.close();
    }
  });
});
