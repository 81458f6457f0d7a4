/**
 * Web cache deception (including the path-confusion variants): a private page reached through a
 * URL that looks static (`/account/x.css`, `/account;x.css`, `/account%2Fx.css`, `/static/..%2Faccount`)
 * is stored only if the origin itself marks the response cacheable — the path never decides.
 */
import { describe, expect } from 'vitest';
import { startEdge, test } from '../helpers/fixtures.js';
import { settled } from '../helpers/wait.js';

const DECEPTIVE = [
  '/account/x.css',
  '/account/x.js',
  '/account;x.css',
  '/account%2Fx.css',
  '/account%3Bx.css',
  '/account/..%2Fstatic.css',
  '/static/..%2Faccount',
  '/account%00.css',
  '/account/.css',
  '/account\\x.css',
  '/account?x.css',
];

function privateOrigin(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) {
  // A lenient origin: anything under /account (however written) is the logged-in user's page.
  const user = req.headers.cookie ?? 'anonymous';
  res.writeHead(200, { 'cache-control': 'private, max-age=600', 'content-type': 'text/html' });
  res.end(`account of ${user}`);
}

describe('web cache deception', () => {
  test.for(DECEPTIVE)('%s: the victim’s page is never served to the attacker', async (path, { edge, origin }) => {
    origin.handle(privateOrigin);
    // The victim follows the lure and gets their own page (not an error that would prove nothing).
    const victim = await edge.get(path, { headers: { cookie: 'victim-session' } });
    expect(victim.status).toBe(200);
    expect(victim.text).toBe('account of victim-session');
    await settled(edge);
    const attacker = await edge.get(path);
    expect(attacker.status).toBe(200);
    expect(attacker.text).toBe('account of anonymous');
    expect(attacker.headers['x-cache-status']).not.toBe('Hit');
  });

  test('Set-Cookie responses are never stored, whatever the extension', async ({ edge, origin }) => {
    origin.handle((req, res) => {
      res.writeHead(200, { 'cache-control': 'public, max-age=600', 'set-cookie': `session=${req.headers['x-user']}` });
      res.end('page');
    });
    await edge.get('/static/app.css', { headers: { 'x-user': 'victim' } });
    const attacker = await edge.get('/static/app.css', { headers: { 'x-user': 'attacker' } });
    expect(attacker.headers['set-cookie']).toEqual(['session=attacker']); // the origin's answer to them
    expect(attacker.headers['x-cache-status']).toBe('Bypass');
    expect(origin.requests).toHaveLength(2);
  });

  test('with stripSetCookie, the stored copy never carries the cookie', async ({ redis, origin }) => {
    origin.handle((req, res) => {
      res.writeHead(200, { 'cache-control': 'public, max-age=600', 'set-cookie': `session=${req.headers['x-user']}` });
      res.end('shared page');
    });
    const edge = await startEdge(redis.url, origin.url, { service: { cache: { stripSetCookie: true } } });
    try {
      const victim = await edge.get('/home', { headers: { 'x-user': 'victim' } });
      expect(victim.headers['set-cookie']).toEqual(['session=victim']); // the requester keeps it
      const attacker = await edge.get('/home');
      expect(attacker.headers['x-cache-status']).toBe('Hit');
      expect(attacker.text).toBe('shared page');
      expect(attacker.headers['set-cookie']).toBeUndefined();
    } finally {
      await edge.close();
    }
  });

  test('the key and the origin see the same path bytes: no confusion between them', async ({ edge, origin }) => {
    origin.handle((req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=600' });
      res.end(`origin saw ${req.url}`);
    });
    const variants = [
      '/a;b',
      '/a%3Bb',
      '/a%2Fb',
      '/a/b',
      '/a%2fb',
      '/a\\b',
      '/a//b',
      '/a/./b',
      '/a+b',
      '/a%20b',
      '/a?x=1;y=2',
      '/a?x=1&y=2',
    ];
    for (const path of variants) await edge.get(path);
    for (const path of variants) {
      const hit = await edge.get(path);
      // whatever the edge served from cache is what the origin answered for the same bytes
      expect(hit.text).toBe(`origin saw ${origin.requests.find((r) => hit.text.endsWith(r.url))?.url}`);
    }
    // Distinct byte sequences stayed distinct (one origin request each), except pure encoding
    // equivalents: %2f and %2F are one.
    expect(new Set(origin.requests.map((r) => r.url)).size).toBe(origin.requests.length);
    expect(origin.requests.map((r) => r.url)).toContain('/a%2Fb');
    expect(origin.requests.map((r) => r.url)).not.toContain('/a%2fb');
  });
});

describe('fat GET', () => {
  test('a GET body is never forwarded on a fill (it is not in the key)', async ({ edge, origin }) => {
    origin.handle((req, res, recorded) => {
      res.writeHead(200, { 'cache-control': 'max-age=600' });
      res.end(`body length ${recorded.body.length} ${req.headers['content-length'] ?? 'none'}`);
    });
    const attack = await edge.get('/fat', { body: 'poison=1', headers: { 'content-length': '8' } });
    expect(attack.text).toBe('body length 0 none');
    expect((await edge.get('/fat')).text).toBe('body length 0 none');
  });
});
