/**
 * Fetch-by-URL (KissCache's API; docs/large-objects.md, "Fetch-by-URL"): a URL fetched through the
 * cache for the clients allowed, from the upstreams allowed, and never from an address inside the
 * edge's network — whatever the URL's spelling, whatever the DNS answers, wherever a redirect points.
 *
 * The upstream listens on 127.0.0.2, a network this service's operator allowed
 * (`fetch.privateNetworks`); the "internal" server the attacks aim at is the test origin on
 * 127.0.0.1, which counts what reaches it. Names resolve through a resolver the test controls.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { Resolve } from '../../../src/fetch/destination.js';
import { metrics } from '../../../src/metrics/metrics.js';
import { OPERATOR_TOKEN, startAdmin } from '../../helpers/admin.js';
import { startEdge, type TestEdge, test } from '../../helpers/fixtures.js';
import { settled } from '../../helpers/wait.js';

interface Upstream {
  port: number;
  seen: { url: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/** The artefact server: files, redirects, a redirect loop. */
async function startUpstream(): Promise<Upstream> {
  const seen: Upstream['seen'] = [];
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    seen.push({ url, headers: req.headers });
    const path = url.split('?')[0] as string;
    const redirect = REDIRECTS[path];
    if (redirect) {
      res.writeHead(302, { location: redirect(port), 'content-length': '0' });
      return void res.end();
    }
    if (path === '/page.html') {
      // A third party's page that would run script on the host it is served from, and a loose policy.
      res.writeHead(200, {
        'content-type': 'text/html',
        'content-security-policy': "default-src * 'unsafe-inline'",
        'cache-control': 'max-age=60',
        // Fields that would act on the service's host: its cookies, its HTTPS, its visitors' data.
        'strict-transport-security': 'max-age=63072000; includeSubDomains',
        'clear-site-data': '"cookies", "storage"',
        'alt-svc': 'h3=":443"',
        refresh: '0; url=https://elsewhere.example/',
      });
      return void res.end('<script>document.cookie</script>');
    }
    if (path === '/cookie') {
      res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': 'session=planted; Path=/' });
      return void res.end('a cookie for whoever serves this');
    }
    const body = Buffer.from(`artefact ${url}`);
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': body.length,
      // The upstream's own freshness: a fetch's ttl= replaces it.
      'cache-control': 'max-age=60',
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    seen,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let internalPort = 0;
const REDIRECTS: Record<string, (port: number) => string> = {
  '/moved': (port) => `http://artifacts.test:${port}/final.bin`,
  '/relative': () => '/final.bin',
  '/to-internal': () => `http://internal.test:${internalPort}/secret`,
  '/to-internal-ip': () => `http://127.0.0.1:${internalPort}/secret`,
  '/off-list': () => 'http://elsewhere.example/file',
  '/loop': () => '/loop',
};

let upstream: Upstream;
/** Names the resolver knows; a name listed twice answers each in turn (DNS rebinding). */
const names = new Map<string, string[][]>();
const lookups: string[] = [];
const resolve: Resolve = async (hostname) => {
  lookups.push(hostname);
  if (hostname === 'silent.test') return new Promise(() => undefined); // a name server that never answers
  const answers = names.get(hostname);
  if (!answers) throw Object.assign(new Error(`${hostname} not found`), { code: 'ENOTFOUND' });
  const answer = answers.length > 1 ? (answers.shift() as string[]) : (answers[0] as string[]);
  return answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(async () => {
  await upstream.close();
});

const artefact = (path: string) => `http://artifacts.test:${upstream.port}${path}`;
const fetchPath = (url: string, extra = '') => `/fetch?url=${encodeURIComponent(url)}${extra}`;

/** An edge whose service fetches for 127.0.0.0/8 clients (or as given), from `allow`. */
function fetchEdge(
  redisUrl: string,
  originUrl: string,
  fetch: Record<string, unknown>,
  config: Record<string, unknown> = {},
): Promise<TestEdge> {
  return startEdge(redisUrl, originUrl, {
    resolve,
    config,
    service: {
      fetch: { clients: ['127.0.0.0/8'], privateNetworks: ['127.0.0.2/32'], ...fetch },
      // Connections to unreachable public addresses fail fast.
      origin: { connectTimeoutMs: 500 },
    },
  });
}

describe('fetch-by-URL', () => {
  test('fetches an allowed URL once, then answers from the cache, on both paths, with the TTL asked', async ({
    redis,
    origin,
  }) => {
    names.set('artifacts.test', [['127.0.0.2']]);
    const edge = await fetchEdge(
      redis.url,
      origin.url,
      { allow: ['artifacts.test'], maxTtlMs: '1h' },
      { admin: { tokens: { operator: [OPERATOR_TOKEN] } } },
    );
    try {
      const url = artefact(`/tool-${edge.service}.tgz`);
      const first = await edge.get(fetchPath(url, '&ttl=10m'), {
        headers: { cookie: 'session=secret', authorization: 'Bearer secret', 'x-forwarded-for': '192.0.2.1' },
      });
      expect(first.status).toBe(200);
      expect(first.text).toBe(`artefact /tool-${edge.service}.tgz`);
      expect(first.headers['x-cache-status']).toBe('Miss');
      // The TTL asked replaced the upstream's max-age=60, and Cache-Status names it.
      expect(first.headers['cache-status']).toMatch(/detail="?rule fetch ttl=600s/);
      await settled(edge);
      // KissCache's form, a TTL past the maximum: the same object, from the cache.
      const second = await edge.get(`/api/v1/fetch/?ttl=30d&url=${encodeURIComponent(url)}`);
      expect(second.status).toBe(200);
      expect(second.headers['x-cache-status']).toBe('Hit');
      const ttl = Number(/ttl=(\d+)/.exec(String(second.headers['cache-status']))?.[1]);
      expect(ttl).toBeGreaterThan(60);
      expect(ttl).toBeLessThanOrEqual(600);
      const asked = upstream.seen.filter((r) => r.url === `/tool-${edge.service}.tgz`);
      expect(asked).toHaveLength(1);
      // The upstream is a third party: none of the client's credentials, cookies or addresses.
      const headers = asked[0]?.headers ?? {};
      expect(headers.host).toBe(`artifacts.test:${upstream.port}`);
      expect(headers.cookie).toBeUndefined();
      expect(headers.authorization).toBeUndefined();
      expect(headers['x-forwarded-for']).toBeUndefined();
      expect(headers['x-forwarded-host']).toBeUndefined();
      // A range of the stored artefact comes from the cache.
      const range = await edge.get(fetchPath(url), { headers: { range: 'bytes=0-7' } });
      expect(range.status).toBe(206);
      expect(range.text).toBe('artefact');
      expect(upstream.seen.filter((r) => r.url === `/tool-${edge.service}.tgz`)).toHaveLength(1);
      // The service's own site and the fetched URL never share an entry.
      const own = await edge.get(`/tool-${edge.service}.tgz`);
      expect(own.text).toContain('origin says hello');
      await settled(edge);
      // Listed as what it is, and purged by the request that fetched it.
      const admin = await startAdmin(edge);
      try {
        const listed = await admin.call('GET', `/v1/services/${edge.service}/entries`);
        expect(listed.json.items.map((item: { url: string }) => item.url)).toContain(`FETCH ${url}`);
        const purged = await admin.call('POST', '/v1/purge', { url: `http://${edge.host}${fetchPath(url)}` });
        expect(purged.json).toMatchObject({ purged: 1, url: `FETCH ${url}` });
      } finally {
        await admin.close();
      }
      expect((await edge.get(fetchPath(url))).headers['x-cache-status']).toBe('Miss');
      expect(upstream.seen.filter((r) => r.url === `/tool-${edge.service}.tgz`)).toHaveLength(2);
    } finally {
      await edge.close();
    }
  });

  test("a fetched page never runs as the service's own: sandboxed, whatever policy the upstream sent", async ({
    redis,
    origin,
  }) => {
    names.set('artifacts.test', [['127.0.0.2']]);
    const edge = await fetchEdge(redis.url, origin.url, { allow: ['artifacts.test'] });
    try {
      const url = artefact(`/page.html?v=${edge.service}`);
      const miss = await edge.get(fetchPath(url));
      await settled(edge);
      const hit = await edge.get(fetchPath(url));
      expect(hit.headers['x-cache-status']).toBe('Hit');
      for (const answer of [miss, hit]) {
        // Two policies, both enforced by a browser: the upstream's cannot loosen the sandbox.
        expect(answer.headers['content-security-policy']).toBe("default-src * 'unsafe-inline', sandbox");
        expect(answer.headers['x-content-type-options']).toBe('nosniff');
        for (const name of ['strict-transport-security', 'clear-site-data', 'alt-svc', 'refresh']) {
          expect(answer.headers[name], name).toBeUndefined();
        }
      }
      // A third party's Set-Cookie never reaches the service's visitors either (and such an answer
      // is not stored).
      const cookie = await edge.get(fetchPath(artefact(`/cookie?v=${edge.service}`)));
      expect(cookie.status).toBe(200);
      expect(cookie.headers['set-cookie']).toBeUndefined();
      // Nor is a fetched script ever a service worker, whose scope would be the whole host.
      const worker = await edge.get(fetchPath(artefact('/sw.js')), { headers: { 'service-worker': 'script' } });
      expect(worker.status).toBe(403);
      expect(worker.text).toContain('service worker');
      // The service's own responses are left as they are.
      expect((await edge.get('/own')).headers['content-security-policy']).toBeUndefined();
    } finally {
      await edge.close();
    }
  });

  test('only the allowed client networks may fetch: everyone else gets 403, and nothing is fetched', async ({
    redis,
    origin,
  }) => {
    names.set('artifacts.test', [['127.0.0.2']]);
    // Behind a trusted proxy (the test's own address), the client is the one X-Forwarded-For names.
    const edge = await fetchEdge(
      redis.url,
      origin.url,
      { allow: ['artifacts.test'], clients: ['198.51.100.0/24'] },
      { edge: { trustedProxies: ['127.0.0.1/32'] } },
    );
    try {
      const url = artefact(`/ci-${edge.service}.bin`);
      const outsider = await edge.get(fetchPath(url), { headers: { 'x-forwarded-for': '203.0.113.9' } });
      expect(outsider.status).toBe(403);
      expect(outsider.text).toContain('CF_ERR_FETCH_NOT_ALLOWED');
      expect(upstream.seen.filter((r) => r.url === `/ci-${edge.service}.bin`)).toHaveLength(0);
      const insider = await edge.get(fetchPath(url), { headers: { 'x-forwarded-for': '198.51.100.7' } });
      expect(insider.status).toBe(200);
      await settled(edge);
    } finally {
      await edge.close();
    }
  });

  test('bad requests are told what is wrong', async ({ redis, origin }) => {
    const edge = await fetchEdge(redis.url, origin.url, { allow: ['artifacts.test', 'silent.test'] });
    try {
      const cases = [
        { path: '/fetch', code: 'CF_ERR_FETCH_BAD_REQUEST', status: 400 },
        { path: fetchPath(artefact('/x'), '&ttl=soon'), code: 'CF_ERR_FETCH_BAD_REQUEST', status: 400 },
        { path: fetchPath('not a url'), code: 'CF_ERR_FETCH_REFUSED', status: 403 },
      ];
      for (const { path, code, status } of cases) {
        const answer = await edge.get(path);
        expect(answer.status, path).toBe(status);
        expect(answer.text, path).toContain(code);
      }
      // A name server that never answers: refused once the connect timeout (500 ms here) has passed.
      const silent = await edge.get(fetchPath('http://silent.test/x'));
      expect(silent.status).toBe(403);
      expect(silent.text).toContain('no answer in 500 ms');
      const post = await edge.get(fetchPath(artefact('/x')), { method: 'POST', body: 'x' });
      expect(post.status).toBe(400);
      expect(post.text).toContain('GET or HEAD');
    } finally {
      await edge.close();
    }
  });

  describe('never an open proxy', () => {
    // Any host is on this service's allow-list, so what stops each URL is the address check.
    test('no private, loopback or link-local destination, however it is spelled, and no credentials', async ({
      redis,
      origin,
    }) => {
      internalPort = origin.port;
      names.set('internal.test', [['127.0.0.1']]);
      names.set('metadata.test', [['169.254.169.254']]);
      names.set('mixed.test', [['127.0.0.2', '10.0.0.1']]);
      names.set('v6.test', [['::ffff:127.0.0.1']]);
      const edge = await fetchEdge(redis.url, origin.url, { allow: ['*'] });
      const p = origin.port;
      try {
        const attacks = [
          `http://127.0.0.1:${p}/secret`,
          `http://2130706433:${p}/secret`, // decimal
          `http://0177.0.0.1:${p}/secret`, // octal
          `http://0x7f.0.0.1:${p}/secret`, // hex
          `http://127.1:${p}/secret`, // short form
          `http://[::1]:${p}/secret`,
          `http://[::ffff:127.0.0.1]:${p}/secret`, // IPv4-mapped IPv6
          `http://[::ffff:7f00:1]:${p}/secret`,
          `http://[64:ff9b::7f00:1]:${p}/secret`, // NAT64
          `http://169.254.169.254/latest/meta-data/`, // link-local: cloud metadata
          `http://10.1.2.3:${p}/secret`,
          `http://internal.test:${p}/secret`, // through DNS
          `http://metadata.test/latest/meta-data/`,
          `http://mixed.test:${p}/secret`, // one public-looking answer is not enough: every address is checked
          `http://v6.test:${p}/secret`,
          `http://user:pass@artifacts.test:${upstream.port}/x`, // userinfo
          'file:///etc/passwd',
          `gopher://127.0.0.1:${p}/_secret`,
        ];
        for (const attack of attacks) {
          const answer = await edge.get(fetchPath(attack));
          expect(answer.status, attack).toBe(403);
          expect(answer.text, attack).toContain('CF_ERR_FETCH_REFUSED');
        }
        expect(origin.requests).toHaveLength(0);
        // Counted by reason for the operator's dashboard: the URL's form, or where it leads.
        const refusals = await metrics.fetchRefusals.get();
        const count = (reason: string) =>
          refusals.values.find((v) => v.labels.service === edge.service && v.labels.reason === reason)?.value ?? 0;
        expect(count('url')).toBe(3); // userinfo, file:, gopher:
        expect(count('address')).toBe(attacks.length - 3);
      } finally {
        await edge.close();
      }
    });

    test('DNS rebinding: the connection goes to the address that was checked, and a name turned internal is refused', async ({
      redis,
      origin,
    }) => {
      internalPort = origin.port;
      // Public-looking (the allowed upstream) first, then the internal address, then upstream again…
      names.set('rebind.test', [['127.0.0.2'], ['127.0.0.1'], ['127.0.0.2']]);
      const edge = await fetchEdge(redis.url, origin.url, { allow: ['rebind.test'] });
      try {
        const port = upstream.port;
        const first = await edge.get(fetchPath(`http://rebind.test:${port}/one-${edge.service}`));
        expect(first.status).toBe(200);
        const second = await edge.get(fetchPath(`http://rebind.test:${port}/two-${edge.service}`));
        expect(second.status).toBe(403);
        expect(second.text).toContain('resolves to 127.0.0.1');
        const third = await edge.get(fetchPath(`http://rebind.test:${port}/three-${edge.service}`));
        expect(third.status).toBe(200);
        // The internal server never saw a request. One resolution per request, and the connection
        // made to its answer: the system resolver does not know rebind.test, so a second lookup
        // anywhere on the way would have failed the fetches that succeeded.
        expect(origin.requests).toHaveLength(0);
        expect(lookups.filter((name) => name === 'rebind.test')).toHaveLength(3);
        await settled(edge);
      } finally {
        await edge.close();
      }
    });

    test('redirects are followed only where the URL itself could go, each hop checked', async ({ redis, origin }) => {
      internalPort = origin.port;
      names.set('artifacts.test', [['127.0.0.2']]);
      names.set('internal.test', [['127.0.0.1']]);
      names.set('elsewhere.example', [['127.0.0.2']]);
      const edge = await fetchEdge(redis.url, origin.url, {
        allow: ['artifacts.test', 'internal.test'],
        maxRedirects: 3,
      });
      try {
        // Followed: the client gets the artefact, stored under the URL it asked for.
        const moved = await edge.get(fetchPath(artefact(`/moved?v=${edge.service}`)));
        expect(moved.status).toBe(200);
        expect(moved.text).toBe('artefact /final.bin');
        await settled(edge);
        const again = await edge.get(fetchPath(artefact(`/moved?v=${edge.service}`)));
        expect(again.headers['x-cache-status']).toBe('Hit');
        expect((await edge.get(fetchPath(artefact(`/relative?v=${edge.service}`)))).text).toBe('artefact /final.bin');
        // Refused: into the internal network (by name, on the allow-list, and by address), off the
        // allow-list, and round in circles.
        for (const [path, why] of [
          ['/to-internal', 'resolves to 127.0.0.1'],
          ['/to-internal-ip', 'not on the service'],
          ['/off-list', 'elsewhere.example is not on the service'],
          ['/loop', 'more than 3 redirects'],
        ] as const) {
          const answer = await edge.get(fetchPath(artefact(`${path}?v=${edge.service}`)));
          expect(answer.status, path).toBe(403);
          expect(answer.text, path).toContain(why);
        }
        expect(origin.requests).toHaveLength(0);
        expect(lookups).not.toContain('elsewhere.example');
        await settled(edge);
      } finally {
        await edge.close();
      }
    });
  });
});
