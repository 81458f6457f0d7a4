/**
 * Services as data: two running nodes (`cachefront serve`) on one Redis, the catalog enabled. A
 * service created through one node's admin API is served by both within a second, and refused by
 * both once deleted; the API answers with what every node reports running; changes are validated
 * by the configuration's schema, refused where they conflict with the file, audit-logged with
 * their caller, and reserved to operator tokens.
 */
import { describe, expect } from 'vitest';
import { OPERATOR_TOKEN } from '../../helpers/admin.js';
import { runCli } from '../../helpers/cli.js';
import { test } from '../../helpers/fixtures.js';
import { send } from '../../helpers/http.js';
import { catalogRedis, namedOrigin } from '../../helpers/reload.js';
import { freePort, runServe, writeConfig } from '../../helpers/serve.js';
import { waitFor } from '../../helpers/wait.js';

const SERVICE_TOKEN = 'shop-service-token-0123456789';

/** A node's file: its own listeners; the file serves "shop"; the catalog checks rarely (pub/sub must do it). */
function nodeConfig(ports: { edge: number; admin: number }, redisUrl: string, origin: string): string {
  return `edge: { listen: { host: 127.0.0.1, port: ${ports.edge} } }
admin:
  listen: { port: ${ports.admin} }
  tokens: { operator: ["${OPERATOR_TOKEN}"], services: { shop: ["${SERVICE_TOKEN}"] } }
redis: { url: "${redisUrl}" }
catalog: { enabled: true, checkEveryMs: 60s }
services:
  - { id: shop, hosts: [shop.test], origin: { url: "${origin}" } }
`;
}

async function api(admin: string, method: string, path: string, body?: unknown, token = OPERATOR_TOKEN) {
  const res = await fetch(`${admin}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: the tests read JSON answers loosely
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

describe('services kept as data in Redis', () => {
  test('created through the API: served by two running nodes within a second; deleted: refused by both', async ({
    redis,
  }) => {
    const url = await catalogRedis(redis, 3);
    const origin = await namedOrigin('news-origin');
    const nodes = await Promise.all(
      [0, 1].map(async () => {
        const ports = { edge: await freePort(), admin: await freePort() };
        const serve = await runServe(writeConfig(nodeConfig(ports, url, origin.url)), ports.admin);
        return { serve, edge: `http://127.0.0.1:${ports.edge}`, admin: `http://127.0.0.1:${ports.admin}` };
      }),
    );
    const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    const status = (node: typeof a, host: string) =>
      send(node.edge, { path: '/today', headers: { host } }).then((r) => r.status);
    try {
      expect([await status(a, 'news.test'), await status(b, 'news.test')]).toEqual([421, 421]);
      // Both nodes report before anything changes: the API waits for each of them.
      await waitFor(
        async () => (await api(a.admin, 'GET', '/v1/config')).json.nodes?.length === 2,
        'both nodes to report',
      );

      const started = performance.now();
      const created = await api(a.admin, 'PUT', '/v1/services/news', {
        hosts: ['news.test'],
        origin: { url: origin.url },
        rules: [{ name: 'static', match: { path: '/static/*' }, edgeTtl: '1d' }],
      });
      expect(created.status).toBe(201);
      expect(created.json).toMatchObject({ service: 'news', created: true, applied: { complete: true } });
      expect(created.json.applied.nodes.map((n: { catalog: number }) => n.catalog)).toEqual([
        created.json.version,
        created.json.version,
      ]);
      const [fromA, fromB] = await Promise.all([
        send(a.edge, { path: '/today', headers: { host: 'news.test' } }),
        send(b.edge, { path: '/today', headers: { host: 'news.test' } }),
      ]);
      const servedWithinMs = performance.now() - started;
      expect([fromA.text, fromB.text]).toEqual(['news-origin /today', 'news-origin /today']);
      expect(servedWithinMs).toBeLessThan(1000);

      // Both report the new version; GET /v1/config names where each service comes from.
      const config = (await api(b.admin, 'GET', '/v1/config')).json;
      expect(config.version.catalog).toBe(created.json.version);
      expect(config.services).toEqual([
        { id: 'shop', hosts: ['shop.test'], source: 'file' },
        { id: 'news', hosts: ['news.test'], source: 'catalog' },
      ]);
      expect((await api(b.admin, 'GET', '/v1/services/news')).json).toMatchObject({
        source: 'catalog',
        definition: { id: 'news', hosts: ['news.test'] },
      });

      const deleted = await api(b.admin, 'DELETE', '/v1/services/news');
      expect(deleted.status).toBe(200);
      expect(deleted.json).toMatchObject({ deleted: true, applied: { complete: true } });
      expect([await status(a, 'news.test'), await status(b, 'news.test')]).toEqual([421, 421]);
      expect([await status(a, 'shop.test'), await status(b, 'shop.test')]).toEqual([200, 200]);

      // Every change audit-logged with its caller (the token's scope and fingerprint, never the token).
      const audit = (await api(a.admin, 'GET', '/v1/config/audit')).json.changes;
      expect(audit.map((c: { action: string; service: string }) => `${c.action} ${c.service}`)).toEqual([
        'delete news',
        'put news',
      ]);
      expect(audit[0].caller).toMatch(/^operator#[0-9a-f]{8}$/);
      expect(JSON.stringify(audit)).not.toContain(OPERATOR_TOKEN);
      // Logged as the change is made (the log is written asynchronously: waited for).
      await waitFor(
        () => /"audit":"service","action":"delete","service":"news"/.test(b.serve.output()),
        'the audit line in the log',
      );
    } finally {
      for (const node of nodes) expect(await node.serve.stop()).toBe(0);
      await origin.close();
    }
  });

  test('validated by the configuration schema, refused where the file decides, operator tokens only', async ({
    redis,
  }) => {
    const url = await catalogRedis(redis, 3);
    const origin = await namedOrigin('origin');
    const ports = { edge: await freePort(), admin: await freePort() };
    const serve = await runServe(writeConfig(nodeConfig(ports, url, origin.url)), ports.admin);
    const admin = `http://127.0.0.1:${ports.admin}`;
    try {
      const invalid = await api(admin, 'PUT', '/v1/services/bad', { hosts: [], origin: { url: 'ftp://x' }, colour: 1 });
      expect(invalid.status).toBe(400);
      expect(invalid.json.error.issues).toEqual(
        expect.arrayContaining([expect.stringMatching(/^hosts:/), expect.stringMatching(/^origin\.url:/)]),
      );
      const clash = await api(admin, 'PUT', '/v1/services/copy', { hosts: ['shop.test'], origin: { url: origin.url } });
      expect(clash.status).toBe(409);
      expect(clash.json.error.message).toContain('"shop"');
      expect(
        (await api(admin, 'PUT', '/v1/services/shop', { hosts: ['x.test'], origin: { url: origin.url } })).status,
      ).toBe(409);
      expect((await api(admin, 'DELETE', '/v1/services/shop')).status).toBe(409);
      expect((await api(admin, 'DELETE', '/v1/services/never')).status).toBe(404);
      const mismatched = await api(admin, 'PUT', '/v1/services/one', {
        id: 'two',
        hosts: ['one.test'],
        origin: { url: origin.url },
      });
      expect(mismatched.status).toBe(400);
      // A service token may not create services, nor read the configuration.
      const byService = await api(
        admin,
        'PUT',
        '/v1/services/mine',
        { hosts: ['mine.test'], origin: { url: origin.url } },
        SERVICE_TOKEN,
      );
      expect(byService.status).toBe(403);
      expect((await api(admin, 'GET', '/v1/config', undefined, SERVICE_TOKEN)).status).toBe(403);
      // Nothing refused was stored.
      expect((await api(admin, 'GET', '/v1/config/audit')).json.changes).toEqual([]);

      // The CLI: a definition in YAML, put and deleted.
      const file = writeConfig(`hosts: [cli.test]\norigin: { url: "${origin.url}" }\n`);
      const env = { CACHEFRONT_ADMIN_URL: admin, CACHEFRONT_ADMIN_TOKEN: OPERATOR_TOKEN };
      const put = await runCli(['service', 'put', 'cli', file], env);
      expect(put.code, put.stderr).toBe(0);
      expect(JSON.parse(put.stdout)).toMatchObject({ service: 'cli', created: true, applied: { complete: true } });
      expect((await send(`http://127.0.0.1:${ports.edge}`, { path: '/', headers: { host: 'cli.test' } })).status).toBe(
        200,
      );
      expect((await runCli(['service', 'delete', 'cli'], env)).code).toBe(0);
      const again = await runCli(['service', 'delete', 'cli'], env);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('CF_ERR_ADMIN_UNKNOWN_SERVICE');
    } finally {
      expect(await serve.stop()).toBe(0);
      await origin.close();
    }
  });
});
