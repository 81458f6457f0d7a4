/**
 * Cookies cannot poison the cache. A fill whose request carries a cookie is stored only when the
 * response says `Vary: Cookie` (cache.requestCookies: when-varied, the default), and the cookies a
 * service ignores (analytics, consent) are removed before the key and the origin, so visitors who
 * carry only those are cached like anonymous ones.
 */
import { describe, expect } from 'vitest';
import { startEdge, test } from '../helpers/fixtures.js';
import { settled, waitFor } from '../helpers/wait.js';

/** Public, cacheable, no Vary: Cookie — and the page echoes the cookie, as language pickers do. */
function echoingOrigin(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) {
  res.writeHead(200, { 'cache-control': 'public, max-age=300', 'content-type': 'text/html' });
  res.end(`<html lang="${req.headers.cookie ?? 'en'}">hello</html>`);
}

const ATTACK = 'lang="><script>alert(1)</script>';

describe('cookies and shared entries', () => {
  test("an attacker's cookie never reaches the next visitor", async ({ edge, origin }) => {
    origin.handle(echoingOrigin);
    const attack = await edge.get('/home', { headers: { cookie: ATTACK } });
    expect(attack.text).toContain('<script>'); // the origin's answer, to the attacker alone
    expect(attack.headers['x-cache-status']).toBe('Bypass');
    expect(String(attack.headers['cache-status'])).toContain('detail=request-cookie');
    await settled(edge);
    const victim = await edge.get('/home');
    expect(victim.text).toBe('<html lang="en">hello</html>');
    await settled(edge);
    // The anonymous answer was stored, and is what a cookie-carrying visitor now gets too.
    const next = await edge.get('/home', { headers: { cookie: 'session=1' } });
    expect(next.headers['x-cache-status']).toBe('Hit');
    expect(next.text).toBe('<html lang="en">hello</html>');
  });

  test('a response that varies on Cookie is stored per cookie', async ({ edge, origin }) => {
    origin.handle((req, res) => {
      res.writeHead(200, { 'cache-control': 'public, max-age=300', vary: 'Cookie' });
      res.end(`lang ${req.headers.cookie ?? 'none'}`);
    });
    await edge.get('/v', { headers: { cookie: 'lang=fr' } });
    await settled(edge);
    expect((await edge.get('/v')).text).toBe('lang none');
    await settled(edge);
    const fr = await edge.get('/v', { headers: { cookie: 'lang=fr; _ga=GA1.2.3' } });
    expect(fr.headers['x-cache-status']).toBe('Hit'); // the ignored cookie is not part of the key
    expect(fr.text).toBe('lang lang=fr');
  });

  test('analytics and consent cookies are removed before the origin and the key', async ({ edge, origin }) => {
    origin.handle(echoingOrigin);
    const first = await edge.get('/page', {
      headers: { cookie: '_ga=GA1.2.111; _gid=GA1.2.222; OptanonConsent=isIABGlobal=false; _hjSession_1=x' },
    });
    expect(first.headers['x-cache-status']).toBe('Miss');
    expect(origin.requests[0]?.headers.cookie).toBeUndefined();
    await settled(edge);
    const second = await edge.get('/page', { headers: { cookie: '_ga=GA1.2.999' } });
    expect(second.headers['x-cache-status']).toBe('Hit');
    expect(second.text).toBe('<html lang="en">hello</html>');
  });

  test('only the cookies that matter reach the origin, and then nothing is stored', async ({ edge, origin }) => {
    origin.handle(echoingOrigin);
    const answer = await edge.get('/mixed', { headers: { cookie: '_ga=GA1.2.1; session=abc; _fbp=fb.1' } });
    expect(origin.requests[0]?.headers.cookie).toBe('session=abc');
    expect(answer.headers['x-cache-status']).toBe('Bypass');
  });

  test('a POST (never stored) keeps every cookie', async ({ edge, origin }) => {
    await edge.get('/form', { method: 'POST', body: 'x', headers: { cookie: '_ga=GA1.2.1; session=abc' } });
    expect(origin.requests[0]?.headers.cookie).toBe('_ga=GA1.2.1; session=abc');
  });

  test('revalidating with a cookie never removes the stored entry', async ({ redis, origin }) => {
    let version = 1;
    origin.handle((req, res) => {
      res.writeHead(200, { 'cache-control': 'public, max-age=0', etag: `"v${version}"` });
      res.end(`v${version} ${req.headers.cookie ?? ''}`);
    });
    const edge = await startEdge(redis.url, origin.url);
    try {
      await edge.get('/doc');
      await settled(edge);
      version = 2;
      const withCookie = await edge.get('/doc', { headers: { cookie: 'session=abc' } });
      expect(withCookie.text).toBe('v2 session=abc');
      await settled(edge);
      const stale = await edge.get('/doc', { headers: { 'cache-control': 'max-stale=3600' } });
      expect(stale.headers['x-cache-status']).toBe('Hit');
      expect(stale.text).toBe('v1 ');
    } finally {
      await edge.close();
    }
  });

  test("requestCookies: always follows RFC 9111 (the operator trusts the origin's headers)", async ({
    redis,
    origin,
  }) => {
    origin.handle(echoingOrigin);
    const edge = await startEdge(redis.url, origin.url, { service: { cache: { requestCookies: 'always' } } });
    try {
      await edge.get('/rfc', { headers: { cookie: 'lang=de' } });
      await settled(edge);
      const next = await edge.get('/rfc');
      expect(next.headers['x-cache-status']).toBe('Hit');
      expect(next.text).toBe('<html lang="lang=de">hello</html>');
    } finally {
      await edge.close();
    }
  });

  test("the ignored list is the service's to set", async ({ redis, origin }) => {
    origin.handle(echoingOrigin);
    const edge = await startEdge(redis.url, origin.url, { service: { key: { cookies: { ignore: ['ab_*'] } } } });
    try {
      await edge.get('/ab', { headers: { cookie: 'ab_test=b' } });
      await settled(edge);
      expect((await edge.get('/ab')).headers['x-cache-status']).toBe('Hit');
      const ga = await edge.get('/ab2', { headers: { cookie: '_ga=1' } }); // no longer ignored
      expect(ga.headers['x-cache-status']).toBe('Bypass');
    } finally {
      await edge.close();
    }
  });
});

describe('refreshing in the background', () => {
  test("a logged-in visitor's stale-while-revalidate refresh is made without their cookie, and stored", async ({
    redis,
    origin,
  }) => {
    const clock = { now: Date.now() };
    let version = 1;
    origin.handle((req, res) => {
      res.writeHead(200, {
        'cache-control': 'public, max-age=10, stale-while-revalidate=60',
        date: new Date(clock.now).toUTCString(),
      });
      res.end(`v${version} for ${req.headers.cookie ?? 'anyone'}`);
    });
    const edge = await startEdge(redis.url, origin.url, { now: () => clock.now, l1: false });
    try {
      await edge.get('/news');
      await settled(edge);
      clock.now += 15_000;
      version = 2;
      const stale = await edge.get('/news', { headers: { cookie: 'session=abc' } });
      expect(stale.headers['x-cache-status']).toBe('Updating');
      await waitFor(() => origin.requests.length === 2, 'the background refresh');
      await settled(edge);
      expect(origin.requests[1]?.headers.cookie).toBeUndefined();
      const fresh = await edge.get('/news', { headers: { cookie: 'session=abc' } });
      expect(fresh.headers['x-cache-status']).toBe('Hit');
      expect(fresh.text).toBe('v2 for anyone');
    } finally {
      await edge.close();
    }
  });
});
