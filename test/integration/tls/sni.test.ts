/**
 * Customers' HTTPS on one listener: SNI picks each service's own certificate (wildcards as browsers
 * match them), an unknown name gets the default certificate or a refused handshake — never another
 * customer's — and certificates that fail their checks are not served. X-Forwarded-Proto comes
 * from the real transport; http and https share an entry unless the origin varies on the scheme;
 * HTTP is redirected to HTTPS and HSTS sent where a service asks.
 */
import { readFileSync } from 'node:fs';
import { connect, type PeerCertificate } from 'node:tls';
import { describe, expect } from 'vitest';
import { register } from '../../../src/metrics/metrics.js';
import { makeCert, makeOcspResponse, testCa } from '../../helpers/certs.js';
import { startEdge, test } from '../../helpers/fixtures.js';
import { send } from '../../helpers/http.js';

/** The certificate the listener presents for `servername` (undefined: no SNI), or the handshake's error. */
function handshake(url: string, servername: string | undefined): Promise<PeerCertificate | Error> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({
      host: hostname,
      port: Number(port),
      ...(servername ? { servername } : {}),
      ca: testCa().cert,
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    socket.once('secureConnect', () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.once('error', (error) => resolve(error));
  });
}

const namesOf = (cert: PeerCertificate | Error) => (cert instanceof Error ? cert.message : cert.subjectaltname);

/** HTTPS GET through the listener with a given SNI name and Host. */
function httpsGet(url: string, host: string, path: string, headers: Record<string, string> = {}) {
  const { hostname, port } = new URL(url);
  return import('node:https').then(
    ({ request }) =>
      new Promise<{ status: number; headers: Record<string, unknown>; text: string }>((resolve, reject) => {
        const req = request(
          {
            host: hostname,
            port,
            path,
            servername: host,
            headers: { host, ...headers },
            ca: testCa().cert,
            agent: false,
          },
          (res) => {
            let text = '';
            res.on('data', (d) => {
              text += d;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
          },
        );
        req.on('error', reject);
        req.end();
      }),
  );
}

/**
 * An edge whose HTTPS listener serves one service, shop.example, with `cert`; `tls` adds to the
 * service's TLS settings, `edgeTls` to the listener's.
 */
function shopOverTls(
  redisUrl: string,
  originUrl: string,
  cert: { certFile: string; keyFile: string },
  tls: Record<string, unknown> = {},
  edgeTls: Record<string, unknown> = {},
) {
  const { certificate, ...rest } = tls as { certificate?: object };
  return startEdge(redisUrl, originUrl, {
    config: {
      edge: { tls: { listen: { host: '127.0.0.1', port: 0 }, ...edgeTls } },
      services: [
        {
          id: 'shop',
          hosts: ['shop.example'],
          origin: { url: originUrl },
          tls: { certificate: { cert: cert.certFile, key: cert.keyFile, ...certificate }, ...rest },
        },
      ],
    },
  });
}

describe('one HTTPS listener for many customers', () => {
  test('SNI picks each service’s certificate; unknown names are refused; bad certificates never served', async ({
    redis,
    origin,
  }) => {
    const shop = makeCert(['shop.example', '*.shop.example']);
    const news = makeCert(['news.example']);
    const expired = makeCert(['old.example'], { days: -1 });
    const mismatched = makeCert(['odd.example']);
    const files = (c: { certFile: string; keyFile: string }) => ({ cert: c.certFile, key: c.keyFile });
    const service = (id: string, hosts: string[], certificate?: object) => ({
      id,
      hosts,
      origin: { url: origin.url },
      ...(certificate ? { tls: { certificate } } : {}),
    });
    const edge = await startEdge(redis.url, origin.url, {
      config: {
        edge: { tls: { listen: { host: '127.0.0.1', port: 0 } } },
        services: [
          service('shop', ['shop.example', '*.shop.example'], files(shop)),
          service('news', ['news.example'], files(news)),
          service('old', ['old.example'], files(expired)),
          service('odd', ['odd.example'], { cert: mismatched.certFile, key: news.keyFile }),
          service('plain', ['plain.example']),
        ],
      },
    });
    const url = edge.tlsUrl as string;
    try {
      expect(namesOf(await handshake(url, 'shop.example'))).toBe('DNS:shop.example, DNS:*.shop.example');
      expect(namesOf(await handshake(url, 'WWW.Shop.Example'))).toBe('DNS:shop.example, DNS:*.shop.example');
      expect(namesOf(await handshake(url, 'news.example'))).toBe('DNS:news.example');
      // Another customer's name, one the wildcard does not cover, a service without a certificate,
      // one whose certificate failed its checks, no SNI: refused, never someone else's certificate.
      for (const name of [
        'a.b.shop.example',
        'plain.example',
        'old.example',
        'odd.example',
        'nobody.example',
        undefined,
      ]) {
        expect(await handshake(url, name), String(name)).toBeInstanceOf(Error);
      }
      const served = edge.tls
        ?.list()
        .map((s) => s.service)
        .sort();
      expect(served).toEqual(['news', 'shop']);
      // Each served certificate's time left, for the expiry alert (infra/prometheus/alerts.yml).
      const expiry = await register.getSingleMetricAsString('cachefront_tls_certificate_expiry_seconds');
      const left = Number(/service="shop"} (-?\d+)/.exec(expiry)?.[1]);
      expect(left / 86_400).toBeGreaterThan(89);
      expect(left / 86_400).toBeLessThanOrEqual(90);
      expect(expiry).not.toContain('service="old"');
      const failures = await edge.tls?.refresh(edge.config.services);
      expect(failures?.changed).toBe(false); // the failing files are tried again only when they change

      // Over HTTPS, the request reaches the same pipeline.
      const answer = await httpsGet(url, 'www.shop.example', '/hello');
      expect(answer.status).toBe(200);
      expect(answer.headers['x-cache-status']).toBe('Miss');
    } finally {
      await edge.close();
    }
  });

  test('a default certificate for names no service covers', async ({ redis, origin }) => {
    const fallback = makeCert(['edge.example']);
    const shop = makeCert(['shop.example']);
    const edge = await shopOverTls(
      redis.url,
      origin.url,
      shop,
      {},
      {
        defaultCertificate: { cert: fallback.certFile, key: fallback.keyFile },
      },
    );
    try {
      expect(namesOf(await handshake(edge.tlsUrl as string, 'shop.example'))).toBe('DNS:shop.example');
      expect(namesOf(await handshake(edge.tlsUrl as string, 'nobody.example'))).toBe('DNS:edge.example');
      expect(namesOf(await handshake(edge.tlsUrl as string, undefined))).toBe('DNS:edge.example');
    } finally {
      await edge.close();
    }
  });

  test('X-Forwarded-Proto from the transport; one entry for both schemes unless the origin varies on it', async ({
    redis,
    origin,
  }) => {
    const cert = makeCert(['shop.example']);
    origin.handle((req, res) => {
      // An origin that sends plain-HTTP clients to HTTPS, cacheable, without Vary.
      if (req.url === '/upgrade' && req.headers['x-forwarded-proto'] === 'http') {
        res.writeHead(301, { location: 'https://shop.example/upgrade', 'cache-control': 'max-age=600' });
        return void res.end();
      }
      const vary = req.url?.startsWith('/varied') ? { vary: 'X-Forwarded-Proto' } : {};
      res.writeHead(200, { 'cache-control': 'max-age=600', 'content-type': 'text/plain', ...vary });
      res.end(`${req.headers['x-forwarded-proto']} ${req.url}`);
    });
    const edge = await shopOverTls(redis.url, origin.url, cert);
    const plain = (path: string, headers: Record<string, string> = {}) =>
      send(edge.url, { path, headers: { host: 'shop.example', ...headers } });
    const tls = (path: string, headers: Record<string, string> = {}) =>
      httpsGet(edge.tlsUrl as string, 'shop.example', path, headers);
    try {
      // A client's claim is never believed: over plain HTTP the origin hears "http".
      expect((await plain('/claim', { 'x-forwarded-proto': 'https' })).text).toBe('http /claim');
      expect((await tls('/tls', { 'x-forwarded-proto': 'http' })).text).toBe('https /tls');

      // Without Vary: one entry, filled over HTTPS, a hit over HTTP.
      await tls('/shared');
      const shared = await plain('/shared');
      expect(shared.headers['x-cache-status']).toBe('Hit');
      expect(shared.text).toBe('https /shared');

      // Vary: X-Forwarded-Proto: each scheme its own answer, keyed on the edge's value.
      await tls('/varied');
      const viaHttp = await plain('/varied', { 'x-forwarded-proto': 'https' });
      expect(viaHttp.text).toBe('http /varied');
      expect((await plain('/varied')).headers['x-cache-status']).toBe('Hit');
      expect((await tls('/varied')).text).toBe('https /varied');
      expect((await tls('/varied')).headers['x-cache-status']).toBe('Hit');

      // An origin that redirects HTTP to HTTPS varies on the scheme without saying so: the URL's
      // entries are split by scheme from then on — HTTPS clients never get the redirect (a loop),
      // HTTP clients never get the page (a downgrade).
      const redirected = await plain('/upgrade');
      expect(redirected.status).toBe(301);
      expect((await tls('/upgrade')).text).toBe('https /upgrade');
      const again = await plain('/upgrade');
      expect([again.status, again.headers['x-cache-status']]).toEqual([301, 'Hit']);
      const page = await tls('/upgrade');
      expect([page.status, page.headers['x-cache-status']]).toEqual([200, 'Hit']);
      expect(origin.requestsFor('/upgrade')).toHaveLength(2);
    } finally {
      await edge.close();
    }
  });

  test('HTTP redirected to HTTPS, HSTS on HTTPS only, where the service asks', async ({ redis, origin }) => {
    const cert = makeCert(['shop.example']);
    const edge = await shopOverTls(redis.url, origin.url, cert, {
      redirectHttp: true,
      hsts: { maxAge: '180d', includeSubDomains: true },
    });
    try {
      const get = await send(edge.url, { path: '/a/b?c=1&a=2', headers: { host: 'shop.example:8080' } });
      expect(get.status).toBe(301);
      expect(get.headers.location).toBe('https://shop.example/a/b?c=1&a=2');
      expect(get.headers['strict-transport-security']).toBeUndefined();
      const post = await send(edge.url, {
        method: 'POST',
        path: '/form',
        body: 'x=1',
        headers: { host: 'shop.example' },
      });
      expect(post.status).toBe(308);
      expect(origin.requests).toHaveLength(0);
      const secure = await httpsGet(edge.tlsUrl as string, 'shop.example', '/a');
      expect(secure.status).toBe(200);
      expect(secure.headers['strict-transport-security']).toBe('max-age=15552000; includeSubDomains');
    } finally {
      await edge.close();
    }
  });

  test('an OCSP response kept next to the certificate is stapled to handshakes that ask', async ({ redis, origin }) => {
    const cert = makeCert(['shop.example']);
    const ocsp = makeOcspResponse(cert);
    const edge = await shopOverTls(redis.url, origin.url, cert, { certificate: { ocspResponse: ocsp } });
    const { hostname, port } = new URL(edge.tlsUrl as string);
    try {
      const stapled = await new Promise<Buffer | null>((resolve, reject) => {
        // requestOCSP is a connect() option @types/node does not list.
        const options = {
          host: hostname,
          port: Number(port),
          servername: 'shop.example',
          ca: testCa().cert,
          requestOCSP: true,
        };
        const socket = connect(options);
        socket.once('OCSPResponse', (response: Buffer | null) => {
          resolve(response);
          socket.end();
        });
        socket.once('error', reject);
      });
      expect(stapled?.equals(readFileSync(ocsp))).toBe(true);
    } finally {
      await edge.close();
    }
  });
});
