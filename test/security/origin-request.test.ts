/**
 * The origin receives exactly what was keyed. A header the key reduces to a bucket (User-Agent to a
 * device bucket, Accept-Encoding to its canonical set) is sent as the bucket's canonical value, so
 * two clients of one bucket cause byte-identical origin requests, and an origin that echoes a
 * request header cannot be made to store one client's text for every other client of its bucket.
 */
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { DEFAULT_BUCKET_USER_AGENTS } from '../../src/config/schema.js';
import { startEdge, test } from '../helpers/fixtures.js';
import type { RecordedRequest } from '../helpers/origin.js';
import { settled } from '../helpers/wait.js';

const DESKTOPS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
  'curl/8.5.0',
  '<script>alert(document.cookie)</script>',
];
const MOBILES = [
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0 Mobile Safari/537.36 <img src=x onerror=alert(1)>',
];
/** Spellings of the "br, gzip" bucket. */
const BROWSER_AE = [
  'gzip, deflate, br',
  'br, gzip',
  'gzip, deflate, br, zstd',
  'BR;q=1, GZIP;q=0.5, deflate',
  'br,gzip,*;q=0',
];
/** Headers the edge never passes on (forwarding claims, overrides, the device header). */
const SPOOFED = [
  'x-forwarded-host',
  'x-original-url',
  'x-http-method-override',
  'x-device-type',
  'x-real-ip',
  'forwarded',
];

/** One client of a bucket: its own User-Agent and spellings, its own header order, its own spoofs. */
const client = (userAgents: string[]) =>
  fc.record({
    userAgent: fc.constantFrom(...userAgents),
    acceptEncoding: fc.constantFrom(...BROWSER_AE),
    spoofed: fc.subarray(SPOOFED),
    spoofValue: fc.constantFrom('evil.example', 'mobile', '/admin', 'DELETE'),
    reversed: fc.boolean(),
    queryOrder: fc.boolean(),
    tracking: fc.boolean(),
    /** Analytics cookies the service ignores: never sent on a fill. */
    analytics: fc.option(fc.integer({ min: 1, max: 1e9 }).map((n) => `_ga=GA1.2.${n}; _gid=GA1.2.${n * 7}`)),
  });

type Client = ReturnType<typeof client> extends fc.Arbitrary<infer C> ? C : never;

function headersOf(c: Client): Record<string, string> {
  const entries: [string, string][] = [
    ['user-agent', c.userAgent],
    ['accept-encoding', c.acceptEncoding],
    ['accept', 'text/html'],
    ['accept-language', 'en-GB'],
    ...c.spoofed.map((name): [string, string] => [name, c.spoofValue]),
    ...(c.analytics === null ? [] : [['cookie', c.analytics] as [string, string]]),
  ];
  if (c.reversed) entries.reverse();
  return Object.fromEntries(entries);
}

function pathOf(base: string, c: Client): string {
  const params = c.queryOrder ? ['a=1', 'b=2'] : ['b=2', 'a=1'];
  if (c.tracking) params.push('utm_source=newsletter');
  return `${base}?${params.join('&')}`;
}

/** What went on the wire to the origin, in order: method, target, every header line. */
const wire = (r: RecordedRequest) => [r.method, r.url, ...r.rawHeaders];

describe('the origin receives exactly what was keyed', () => {
  test.for([
    ['desktop', DESKTOPS],
    ['mobile', MOBILES],
  ] as const)('two %s clients cause byte-identical origin requests', async ([, userAgents], { redis, origin }) => {
    // Nothing is stored (no-store), so every request is a fill of its own and reaches the origin.
    origin.handle((_req, res) => {
      res.writeHead(200, { 'cache-control': 'no-store', 'content-type': 'text/plain' });
      res.end('ok');
    });
    const edge = await startEdge(redis.url, origin.url);
    try {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(client([...userAgents]), client([...userAgents]), async (a, b) => {
          const base = `/p${run++}`;
          const before = origin.requests.length;
          await edge.get(pathOf(base, a), { headers: headersOf(a) });
          await edge.get(pathOf(base, b), { headers: headersOf(b) });
          const [first, second] = origin.requests.slice(before) as [RecordedRequest, RecordedRequest];
          expect(wire(second)).toEqual(wire(first));
        }),
        { numRuns: 40 },
      );
    } finally {
      await edge.close();
    }
  });

  test("each fill sends its bucket's User-Agent and the device header; the client's copies never", async ({
    edge,
    origin,
  }) => {
    origin.handle((req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=600', vary: 'User-Agent', 'content-type': 'text/html' });
      // An origin that echoes the User-Agent into the page (banners, analytics snippets).
      res.end(`<p>you are using ${req.headers['user-agent']} (${req.headers['x-device-type']})</p>`);
    });
    const attacker = MOBILES[2] as string;
    await edge.get('/echo', { headers: { 'user-agent': attacker, 'x-device-type': 'desktop' } });
    await settled(edge);
    const victim = await edge.get('/echo', { headers: { 'user-agent': MOBILES[0] as string } });
    expect(victim.headers['x-cache-status']).toBe('Hit');
    expect(victim.text).toBe(`<p>you are using ${DEFAULT_BUCKET_USER_AGENTS.mobile} (mobile)</p>`);
    expect(victim.text).not.toContain('onerror');
    expect(origin.requests[0]?.headers['x-device-type']).toBe('mobile');
  });

  test('an origin that varies on the device header gets one entry per bucket', async ({ edge, origin }) => {
    origin.handle((req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=600', vary: 'X-Device-Type' });
      res.end(`layout ${req.headers['x-device-type']}`);
    });
    expect((await edge.get('/layout', { headers: { 'user-agent': MOBILES[0] as string } })).text).toBe('layout mobile');
    await settled(edge);
    // A desktop client that claims to be mobile still gets the desktop layout; mobiles share one entry.
    const desktop = await edge.get('/layout', {
      headers: { 'user-agent': DESKTOPS[0] as string, 'x-device-type': 'mobile' },
    });
    expect(desktop.text).toBe('layout desktop');
    await settled(edge);
    const mobile = await edge.get('/layout', { headers: { 'user-agent': MOBILES[1] as string } });
    expect(mobile.headers['x-cache-status']).toBe('Hit');
    expect(mobile.text).toBe('layout mobile');
    expect(origin.requests).toHaveLength(2);
  });

  test("an origin that treats iPads as mobile still stores each bucket's own page", async ({ redis, origin }) => {
    // The origin's own detection disagrees with the edge's (tablets: desktop): it must see the
    // bucket's User-Agent, or an iPad's fill would store the mobile page for every desktop client.
    origin.handle((req, res) => {
      const ua = String(req.headers['user-agent']);
      res.writeHead(200, { 'cache-control': 'max-age=600', vary: 'User-Agent' });
      res.end(/iPad|iPhone|Android/.test(ua) ? 'mobile page' : 'desktop page');
    });
    const edge = await startEdge(redis.url, origin.url);
    try {
      const ipad =
        'Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
      expect((await edge.get('/home', { headers: { 'user-agent': ipad } })).text).toBe('desktop page');
      await settled(edge);
      const desktop = await edge.get('/home', { headers: { 'user-agent': DESKTOPS[0] as string } });
      expect(desktop.headers['x-cache-status']).toBe('Hit');
      expect(desktop.text).toBe('desktop page');
    } finally {
      await edge.close();
    }
  });

  test("a pass keeps the client's own User-Agent (its answer goes to it alone)", async ({ edge, origin }) => {
    await edge.get('/form', { method: 'POST', body: 'x', headers: { 'user-agent': 'my-agent/1.0' } });
    expect(origin.requests[0]?.headers['user-agent']).toBe('my-agent/1.0');
    expect(origin.requests[0]?.headers['x-device-type']).toBe('desktop');
  });
});
