/**
 * HTTPS on a running `cachefront serve` (two workers): a certificate replaced on disk is served to
 * new handshakes within seconds, with no restart and not one failed request under load (HTTP/1.1
 * and HTTP/2 clients, kept and new connections); a broken replacement leaves the previous
 * certificate in use and says why, naming the service and the file; a session resumes on
 * whichever worker the client reaches (the node's ticket keys).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { describe, expect } from 'vitest';
import { makeCert, testCa } from '../../helpers/certs.js';
import { test } from '../../helpers/fixtures.js';
import { h2Client } from '../../helpers/h2.js';
import { freePort, runServe, writeConfig } from '../../helpers/serve.js';
import { waitFor } from '../../helpers/wait.js';

const OPERATOR_TOKEN = 'operator-token-0123456789';
const SHOP_TOKEN = 'shop-service-token-0123456789';
const fingerprintOf = (pem: string) => createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
const colons = (hex: string) => hex.toUpperCase().match(/../g)?.join(':') as string;

/** The fingerprint of the certificate served to a new handshake for `servername`, and the session to resume. */
function handshake(
  port: number,
  servername: string,
  session?: Buffer,
): Promise<{ fingerprint: string; reused: boolean; session?: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket: TLSSocket = connect({
      host: '127.0.0.1',
      port,
      servername,
      ca: testCa().cert,
      maxVersion: 'TLSv1.2', // a session is ready at once (TLS 1.3 sends tickets after the handshake)
      ...(session ? { session } : {}),
    });
    socket.once('secureConnect', () => {
      const result = {
        fingerprint: socket.getPeerCertificate().fingerprint256,
        reused: socket.isSessionReused(),
        session: socket.getSession(),
      };
      socket.end();
      resolve(result);
    });
    socket.once('error', reject);
  });
}

/** Do eight new handshakes in a row (spread over the workers) all get this certificate? */
async function everyWorker(port: number, fingerprint: string): Promise<boolean> {
  const seen = await Promise.all(
    Array.from({ length: 8 }, () =>
      handshake(port, 'shop.example').then(
        (h) => h.fingerprint,
        () => 'refused',
      ),
    ),
  );
  return seen.every((f) => f === fingerprint);
}

function httpsGet(port: number, path: string, agent: false | import('node:https').Agent) {
  return new Promise<number>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        servername: 'shop.example',
        headers: { host: 'shop.example' },
        ca: testCa().cert,
        agent,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('certificates on a running cachefront serve', () => {
  test('replaced under load: new handshakes get it, no request fails; a broken one is refused', async ({
    redis,
    origin,
  }) => {
    const dir = mkdtempSync(join(tmpdir(), 'cachefront-serve-tls-'));
    const [first, second, stranger] = [
      makeCert(['shop.example']),
      makeCert(['shop.example']),
      makeCert(['other.example']),
    ];
    const cert = join(dir, 'shop.crt');
    const key = join(dir, 'shop.key');
    copyFileSync(first.certFile, cert);
    copyFileSync(first.keyFile, key);
    const [edgePort, adminPort, tlsPort] = [await freePort(), await freePort(), await freePort()];
    const file = writeConfig(
      `edge: { listen: { host: 127.0.0.1, port: ${edgePort} }, tls: { listen: { host: 127.0.0.1, port: ${tlsPort} }, checkEveryMs: 200ms } }
admin: { listen: { port: ${adminPort} } }
redis: { url: "${redis.url}" }
services:
  - id: shop
    hosts: [shop.example]
    origin: { url: "${origin.url}" }
    tls: { certificate: { cert: "${cert}", key: "${key}" } }
`,
    );
    const serve = await runServe(file, adminPort, {}, 2);
    try {
      expect((await handshake(tlsPort, 'shop.example')).fingerprint).toBe(colons(fingerprintOf(first.cert)));

      // Resumption: a session from one handshake resumes on the following ones, whichever worker.
      const { session } = await handshake(tlsPort, 'shop.example');
      const resumed = await Promise.all(Array.from({ length: 8 }, () => handshake(tlsPort, 'shop.example', session)));
      expect(resumed.every((r) => r.reused)).toBe(true);

      // Load: HTTP/1.1 kept-alive and new connections, and an HTTP/2 connection.
      let running = true;
      const failures: string[] = [];
      let done = 0;
      const h2 = h2Client(`https://127.0.0.1:${tlsPort}`, { ca: testCa().cert, servername: 'shop.example' });
      const keep = new (await import('node:https')).Agent({ keepAlive: true, maxSockets: 2 });
      const clients = [
        async (n: number) => httpsGet(tlsPort, `/k${n}`, keep),
        async (n: number) => httpsGet(tlsPort, `/n${n}`, false),
        async (n: number) => (await h2.send({ path: `/h${n}`, headers: { host: 'shop.example' } })).status,
      ].map(async (client) => {
        for (let n = 0; running; n++) {
          try {
            const status = await client(n);
            if (status !== 200) failures.push(String(status));
            done++;
          } catch (error) {
            failures.push(String(error));
          }
        }
      });
      await waitFor(() => done > 30, 'load to start');

      copyFileSync(second.certFile, cert);
      copyFileSync(second.keyFile, key);
      // Every worker (each checks on its own): eight new handshakes in a row all see it.
      await waitFor(
        () => everyWorker(tlsPort, colons(fingerprintOf(second.cert))),
        'the new certificate on every worker',
      );
      const before = done;
      await waitFor(() => done > before + 30, 'load after the replacement');

      // A certificate for other names: refused, the previous one still served, the reason logged.
      copyFileSync(stranger.certFile, cert);
      copyFileSync(stranger.keyFile, key);
      await waitFor(() => serve.output().includes('certificate not replaced'), 'the refusal to be logged');
      const refusal = JSON.parse(
        serve
          .output()
          .split('\n')
          .find((l) => l.includes('certificate not replaced')) as string,
      );
      expect(refusal).toMatchObject({ service: 'shop', file: `${cert} (key ${key})` });
      expect(refusal.problems[0]).toContain('do not cover shop.example');
      expect((await handshake(tlsPort, 'shop.example')).fingerprint).toBe(colons(fingerprintOf(second.cert)));

      running = false;
      await Promise.all(clients);
      keep.destroy();
      await h2.close();
      expect(failures).toEqual([]);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
  });

  test('set through the admin API: checked, served by every worker within seconds, never shown', async ({
    redis,
    origin,
  }) => {
    const [first, second, expired, other] = [
      makeCert(['shop.example']),
      makeCert(['shop.example']),
      makeCert(['shop.example'], { days: -1 }),
      makeCert(['other.example']),
    ];
    const [edgePort, adminPort, tlsPort] = [await freePort(), await freePort(), await freePort()];
    const file = writeConfig(
      `edge: { listen: { host: 127.0.0.1, port: ${edgePort} }, tls: { listen: { host: 127.0.0.1, port: ${tlsPort} }, checkEveryMs: 200ms } }
admin: { listen: { port: ${adminPort} }, tokens: { operator: ["${OPERATOR_TOKEN}"], services: { shop: ["${SHOP_TOKEN}"] } } }
redis: { url: "${redis.url}/5" }
services:
  - { id: shop, hosts: [shop.example], origin: { url: "${origin.url}" } }
  - { id: news, hosts: [news.example], origin: { url: "${origin.url}" } }
`,
    );
    // Database 5: certificates kept in Redis are fleet-wide; this test's are its own.
    const db = redis.client();
    await db.select(5);
    await db.flushdb();
    const serve = await runServe(file, adminPort, {}, 2);
    const api = async (method: string, body?: unknown, token = SHOP_TOKEN, service = 'shop') => {
      const res = await fetch(`http://127.0.0.1:${adminPort}/v1/services/${service}/certificate`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    try {
      // Nothing stored yet: refused.
      await expect(handshake(tlsPort, 'shop.example')).rejects.toThrow();
      expect((await api('GET')).status).toBe(404);

      const stored = await api('PUT', { cert: first.cert, key: first.key });
      expect(stored.status).toBe(200);
      expect(stored.json).toMatchObject({ service: 'shop', source: 'admin API', names: ['shop.example'] });
      expect(JSON.stringify(stored.json)).not.toContain('PRIVATE KEY');
      await waitFor(
        () => everyWorker(tlsPort, colons(fingerprintOf(first.cert))),
        'every worker to serve the stored certificate',
      );
      expect((await api('GET')).json).toMatchObject({ fingerprint: fingerprintOf(first.cert), source: 'admin API' });

      // Refusals: expired, names that do not cover the service, a key of another certificate,
      // another service's token. The stored one stays.
      expect((await api('PUT', { cert: expired.cert, key: expired.key })).json.error).toMatchObject({
        code: 'CF_ERR_ADMIN_BAD_CERTIFICATE',
        message: expect.stringContaining('expired'),
      });
      expect((await api('PUT', { cert: other.cert, key: other.key })).json.error).toMatchObject({
        message: expect.stringContaining('do not cover shop.example'),
      });
      expect((await api('PUT', { cert: second.cert, key: first.key })).json.error).toMatchObject({
        message: 'the key does not match the certificate',
      });
      expect((await api('PUT', { cert: second.cert, key: second.key }, SHOP_TOKEN, 'news')).status).toBe(403);

      // Replaced: every worker serves the new one within seconds.
      expect((await api('PUT', { cert: second.cert, key: second.key }, OPERATOR_TOKEN)).status).toBe(200);
      await waitFor(
        () => everyWorker(tlsPort, colons(fingerprintOf(second.cert))),
        'every worker to serve the replacement',
      );

      expect((await api('DELETE')).status).toBe(200);
      await waitFor(
        async () =>
          (await handshake(tlsPort, 'shop.example').then(
            () => 'served',
            () => 'refused',
          )) === 'refused',
        'the certificate to go',
      );
      // The key never reached the log.
      expect(serve.output()).not.toContain('PRIVATE KEY');
      await waitFor(() => serve.output().includes('"audit":"certificate"'), 'the audit line in the log');
    } finally {
      expect(await serve.stop()).toBe(0);
    }
  });
});
