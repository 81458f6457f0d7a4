/**
 * Web cache poisoning through unkeyed inputs. The list below is not taken from the edge's source:
 * it is the published research, so a header missing from the edge's own list fails here. The
 * origin reflects every request header it receives into a cacheable page without Vary; whatever
 * the attacker sends, the next visitor's page must not carry it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect } from 'vitest';
import { startEdge, test } from '../helpers/fixtures.js';
import { settled } from '../helpers/wait.js';

/**
 * Headers shown to poison caches or to switch a response, from: J. Kettle, "Practical Web Cache
 * Poisoning" (2018) and "Web Cache Entanglement" (2020), PortSwigger's Param Miner header list;
 * Nguyen, Lo Iacono, Federrath, "Your Cache Has Fallen: Cache-Poisoned Denial-of-Service" (CCS
 * 2019); the Next.js advisories CVE-2023-46298 (x-middleware-prefetch), CVE-2024-46982
 * (x-now-route-matches), CVE-2025-29927 (x-middleware-subrequest) and the RSC cache-poisoning
 * reports (RSC, Next-Router-*); and the client-address headers of the common CDNs.
 */
const PUBLISHED = [
  'X-Forwarded-Host',
  'X-Host',
  'X-Forwarded-Server',
  'X-HTTP-Host-Override',
  'Forwarded',
  'X-Original-URL',
  'X-Rewrite-URL',
  'X-Original-Host',
  'X-Forwarded-Scheme',
  'X-Forwarded-Proto',
  'X-Forwarded-Protocol',
  'X-Forwarded-Port',
  'X-Forwarded-Prefix',
  'X-Forwarded-SSL',
  'X-Forwarded-Path',
  'X-Forwarded-URI',
  'X-Original-URI',
  'X-URL-Scheme',
  'Front-End-Https',
  'X-HTTP-Method-Override',
  'X-HTTP-Method',
  'X-Method-Override',
  'X-Forwarded-For',
  'X-Real-IP',
  'True-Client-IP',
  'X-Client-IP',
  'Client-IP',
  'X-Cluster-Client-IP',
  'X-Originating-IP',
  'X-Remote-IP',
  'X-Remote-Addr',
  'X-ProxyUser-IP',
  'X-Forwarded-By',
  'CF-Connecting-IP',
  'Fastly-Client-IP',
  'X-Custom-IP-Authorization',
  'X-Middleware-Subrequest',
  'X-Middleware-Prefetch',
  'X-Now-Route-Matches',
  'X-Invoke-Path',
  'X-Invoke-Query',
  'X-Invoke-Output',
  'X-Invoke-Status',
  'RSC',
  'Next-Router-State-Tree',
  'Next-Router-Prefetch',
  'Next-Router-Segment-Prefetch',
  'Next-URL',
  'X-Requested-With',
  'X-WAP-Profile',
  'User-Agent',
  'Cookie',
  'Via',
];

const EVIL = 'evil-7f3a.example';

/** Reflects every request header it receives, as error pages and debug banners do. */
function reflectingOrigin(req: IncomingMessage, res: ServerResponse) {
  res.writeHead(200, { 'cache-control': 'public, max-age=600', 'content-type': 'text/html' });
  res.end(
    Object.entries(req.headers)
      .map(([name, value]) => `${name}: ${value}\n`)
      .join(''),
  );
}

describe('unkeyed request headers (published list, reflecting origin)', () => {
  test.for(PUBLISHED)(
    "%s cannot put the attacker's value in the next visitor's page",
    async (header, { edge, origin }) => {
      origin.handle(reflectingOrigin);
      const path = `/page-${header.toLowerCase()}`;
      await edge.get(path, { headers: { [header]: EVIL } });
      await settled(edge);
      const victim = await edge.get(path);
      expect(victim.status).toBe(200);
      expect(victim.text).not.toContain(EVIL);
      // And a request carrying it after the victim's does not get the victim's copy replaced either.
      await edge.get(path, { headers: { [header]: EVIL } });
      await settled(edge);
      expect((await edge.get(path)).text).not.toContain(EVIL);
    },
  );

  test('a framework header is forwarded and keyed: an RSC payload and the HTML page each keep their own entry', async ({
    edge,
    origin,
  }) => {
    // A Next.js origin that forgot `Vary: RSC` (the reported poisoning): same URL, two bodies.
    origin.handle((req, res) => {
      const rsc = req.headers.rsc === '1';
      res.writeHead(200, {
        'cache-control': 'public, max-age=600',
        'content-type': rsc ? 'text/x-component' : 'text/html',
      });
      res.end(rsc ? '0:["$","div",null,{}]' : '<!doctype html><p>page</p>');
    });
    await edge.get('/app', { headers: { rsc: '1' } });
    await settled(edge);
    const page = await edge.get('/app');
    expect(page.text).toBe('<!doctype html><p>page</p>');
    await settled(edge);
    const rsc = await edge.get('/app', { headers: { rsc: '1' } });
    expect(rsc.headers['x-cache-status']).toBe('Hit');
    expect(rsc.headers['content-type']).toBe('text/x-component');
    expect((await edge.get('/app')).headers['x-cache-status']).toBe('Hit');
    expect(origin.requests.map((r) => r.headers.rsc)).toEqual(['1', undefined]);
  });

  test('a service that needs one declares it: it is forwarded and keyed', async ({ redis, origin }) => {
    origin.handle(reflectingOrigin);
    const edge = await startEdge(redis.url, origin.url, { service: { key: { headers: ['X-Forwarded-Host'] } } });
    try {
      const attack = await edge.get('/page', { headers: { 'x-forwarded-host': EVIL } });
      expect(attack.text).toContain(EVIL); // the attacker only poisons their own variant
      await settled(edge);
      const victim = await edge.get('/page');
      expect(victim.text).not.toContain(EVIL);
      expect(victim.headers['x-cache-status']).toBe('Miss');
      await settled(edge);
      expect((await edge.get('/page', { headers: { 'x-forwarded-host': EVIL } })).headers['x-cache-status']).toBe(
        'Hit',
      );
    } finally {
      await edge.close();
    }
  });
});
