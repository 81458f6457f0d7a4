/** The admin API's door: bearer tokens per scope, and the shared per-service stats behind it. */
import type { AddressInfo } from 'node:net';
import { describe, expect } from 'vitest';
import { buildAdmin } from '../../../src/admin/server.js';
import { buildEdge } from '../../../src/app.js';
import { parseConfig } from '../../../src/config/load.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { RedisStore } from '../../../src/store/redis-store.js';
import { TieredStore } from '../../../src/store/tiered-store.js';
import { newServiceId, test } from '../../helpers/fixtures.js';
import { send } from '../../helpers/http.js';
import { storeTargets, TARGETS } from '../../helpers/targets.js';
import { waitFor } from '../../helpers/wait.js';

const OPERATOR = 'operator-token-0123456789';
const SHOP_TOKEN = 'shop-token-0123456789abc';
const BLOG_TOKEN = 'blog-token-0123456789abc';

const storeAt = storeTargets();

describe.each(TARGETS)('admin API: tokens, stats and explain on %s', (target) => {
  test('scoped bearer tokens guard the stats, which every node adds to', async ({ redis, origin }) => {
    const where = await storeAt(target, redis);
    const shop = newServiceId();
    const blog = newServiceId();
    const config = parseConfig(
      {
        admin: { tokens: { operator: [OPERATOR], services: { [shop]: [SHOP_TOKEN], [blog]: [BLOG_TOKEN] } } },
        services: [
          { id: shop, hosts: [`${shop}.test`], origin: { url: origin.url } },
          { id: blog, hosts: [`${blog}.test`], origin: { url: origin.url } },
        ],
      },
      'test',
      {},
    );
    const client = await where.client();
    const store = new TieredStore(
      new MemoryStore({ maxBytes: 1 << 20, maxTtlMs: 1000 }),
      new RedisStore(client, false, client, undefined, where.serviceShards),
    );
    const edge = buildEdge({ config, store, hitFlushMs: 20 });
    const admin = buildAdmin({ config, store, storeReady: async () => true, storeKind: 'redis' });
    await edge.listen({ port: 0, host: '127.0.0.1' });
    await admin.listen({ port: 0, host: '127.0.0.1' });
    const edgeUrl = `http://127.0.0.1:${(edge.server.address() as AddressInfo).port}`;
    const adminUrl = `http://127.0.0.1:${(admin.server.address() as AddressInfo).port}`;
    const stats = (service: string, token?: string) =>
      send(adminUrl, {
        path: `/v1/services/${service}/stats`,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    try {
      for (const path of ['/a', '/a', '/a', '/b', '/b'])
        await send(edgeUrl, { path, headers: { host: `${shop}.test` } });
      await send(edgeUrl, { path: '/x', method: 'POST', body: 'x', headers: { host: `${shop}.test` } });
      // Each node adds its tallies to Redis once a second (hitFlushMs here): wait for them.
      const res = await waitFor(async () => {
        const answer = await stats(shop, OPERATOR);
        const counted = JSON.parse(answer.text);
        const complete = counted.hits === 3 && counted.bypasses === 1 && counted.bytesFromOrigin === 69;
        return complete && answer;
      }, 'the tallies to reach Redis');
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text)).toEqual({
        service: shop,
        entries: 2,
        hits: 3,
        misses: 2,
        bypasses: 1,
        hitRatio: 0.6,
        bytesFromCache: 3 * 'origin says hello to /a'.length,
        bytesStored: 2 * 'origin says hello to /a'.length,
        quotaBytes: 0,
        // two fills and one pass (POST /x), each body counted once
        bytesFromOrigin: 3 * 'origin says hello to /a'.length,
        evictions: 0,
        purges: 0,
        staleServed: 0,
        errors: 0,
        storeTimeouts: 0,
        storeErrors: 0,
        bytesSavedByCompression: 0,
        bytesSavedByImages: 0,
        origin: { state: 'closed', failures: 0, openUntil: null },
      });
      expect((await stats(shop, SHOP_TOKEN)).status).toBe(200);

      const anonymous = await stats(shop);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers['www-authenticate']).toBe('Bearer');
      expect(JSON.parse(anonymous.text).error.code).toBe('CF_ERR_ADMIN_UNAUTHENTICATED');
      expect((await stats(shop, 'not-a-token-at-all-000')).status).toBe(401);
      const crossed = await stats(shop, BLOG_TOKEN); // another service's token
      expect(crossed.status).toBe(403);
      expect(JSON.parse(crossed.text).error.code).toBe('CF_ERR_ADMIN_FORBIDDEN');
      expect((await stats('nope', OPERATOR)).status).toBe(404);
      // health checks need no token
      expect((await send(adminUrl, { path: '/healthz' })).status).toBe(200);

      // explain: the key, the variant and the entry, without contacting the origin
      const before = origin.requests.length;
      const explain = (body: unknown, token = OPERATOR) =>
        send(adminUrl, {
          path: '/v1/explain',
          method: 'POST',
          body: JSON.stringify(body),
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        });
      const known = await explain({ url: `http://${shop}.test/a?utm_source=x`, headers: { 'User-Agent': 'curl' } });
      expect(known.status).toBe(200);
      const explained = JSON.parse(known.text);
      expect(explained.service).toBe(shop);
      expect(explained.key.readable).toBe(`GET http://${shop}.test/a`);
      expect(explained.originTarget).toBe('/a');
      expect(explained.entry).toMatchObject({ status: 200, fresh: true, bytes: 'origin says hello to /a'.length });
      // The pipeline's own decision, and the states a request would pass through.
      expect(explained.decision).toEqual({ kind: 'fresh' });
      expect(explained.states).toEqual(['recv', 'lookup:hit', 'fresh', 'deliver:hit']);
      const missing = JSON.parse((await explain({ url: `http://${shop}.test/never` })).text);
      expect(missing.entry).toBeNull();
      expect(missing.states).toEqual(['recv', 'lookup:miss', 'miss', 'fill']);
      const onlyCached = await explain({
        url: `http://${shop}.test/never`,
        headers: { 'Cache-Control': 'only-if-cached' },
      });
      expect(JSON.parse(onlyCached.text).states).toEqual(['recv', 'lookup:miss', 'not-cached', 'synth:504']);
      expect(origin.requests.length).toBe(before);
      expect((await explain({ url: `http://${shop}.test/a` }, BLOG_TOKEN)).status).toBe(403);
      expect((await explain({ url: 'http://unknown.example/' })).status).toBe(404);
      const bad = await explain({ url: 'not a url' });
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.text).error.code).toBe('CF_ERR_ADMIN_BAD_INPUT');

      // purge one URL: all its variants, on every node; a service token for another service may not
      const purge = (url: string, token = OPERATOR, dryRun = false) =>
        send(adminUrl, {
          path: '/v1/purge',
          method: 'POST',
          body: JSON.stringify({ url, dryRun }),
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        });
      expect((await purge(`http://${shop}.test/a`, BLOG_TOKEN)).status).toBe(403);
      const dry = await purge(`http://${shop}.test/a`, OPERATOR, true);
      expect(JSON.parse(dry.text)).toEqual({
        service: shop,
        url: `GET http://${shop}.test/a`,
        purged: 1,
        dryRun: true,
        soft: false,
        batches: 1,
        longestCallMs: expect.any(Number),
      });
      expect((await send(edgeUrl, { path: '/a', headers: { host: `${shop}.test` } })).headers['x-cache-status']).toBe(
        'Hit',
      );
      const purged = await purge(`http://${shop}.test/a?utm_source=mail`, SHOP_TOKEN);
      expect(purged.status).toBe(200);
      expect(JSON.parse(purged.text)).toMatchObject({
        service: shop,
        url: `GET http://${shop}.test/a`,
        purged: 1,
        soft: false,
        dryRun: false,
      });
      const after = await send(edgeUrl, { path: '/a', headers: { host: `${shop}.test` } });
      expect(after.headers['x-cache-status']).toBe('Miss'); // not even this node's L1 kept it
      expect((await send(edgeUrl, { path: '/b', headers: { host: `${shop}.test` } })).headers['x-cache-status']).toBe(
        'Hit',
      );
      expect(JSON.parse((await stats(shop, OPERATOR)).text).purges).toBe(1);
    } finally {
      await edge.close();
      await admin.close();
      await store.close();
      client.disconnect();
    }
  });
});
