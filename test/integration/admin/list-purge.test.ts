/**
 * Listing and purging through the admin API, against two edge nodes sharing one Redis: filters
 * and paging over what the edges stored, purges by URL, prefix, tag, type, size, filter and whole
 * service (dry-run and soft too), and no node serving purged content once a purge has returned.
 * Everything runs twice: on one Redis, and on a real Redis Cluster (3 masters, 3 replicas) with
 * each service split into key spaces over its masters.
 */
import { describe, expect } from 'vitest';
import { OPERATOR_TOKEN, startAdmin } from '../../helpers/admin.js';
import { newServiceId, startEdge, type TestEdge, test } from '../../helpers/fixtures.js';
import type { TestOrigin } from '../../helpers/origin.js';
import { type StoreAt, storeTargets, TARGETS } from '../../helpers/targets.js';
import { settled, waitFor } from '../../helpers/wait.js';

const CATALOGUE: Record<string, { type: string; size: number; tags?: string }> = {
  '/img/hero.png': { type: 'image/png', size: 4_000, tags: 'hero home' },
  '/img/logo.svg': { type: 'image/svg+xml', size: 800, tags: 'brand' },
  '/img/team/ana.jpg': { type: 'image/jpeg', size: 9_000 },
  '/css/site.css': { type: 'text/css; charset=utf-8', size: 1_200, tags: 'theme, brand' },
  '/js/app.js': { type: 'text/javascript', size: 20_000 },
  '/index.html': { type: 'text/html', size: 3_000, tags: 'home' },
};

function serveCatalogue(origin: TestOrigin): void {
  origin.handle((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    const item = CATALOGUE[path];
    if (!item) {
      res.writeHead(404, { 'content-type': 'text/plain', 'cache-control': 'max-age=60' });
      res.end('not here');
      return;
    }
    res.writeHead(200, {
      'content-type': item.type,
      'cache-control': 'max-age=600',
      etag: '"v1"',
      ...(item.tags ? { 'surrogate-key': item.tags } : {}),
    });
    res.end(Buffer.alloc(item.size, 'c'));
  });
}

const storeAt = storeTargets();

async function twoNodes(where: StoreAt, originUrl: string): Promise<[TestEdge, TestEdge]> {
  const redisUrl = where.url;
  const service = newServiceId();
  // L1 lifetime of a minute: only the purge announcement can make a node forget in time.
  // One entry per URL (no compressed or image representations), so the listing is about listing.
  const setup = {
    serviceId: service,
    config: { admin: { tokens: { operator: [OPERATOR_TOKEN] } } },
    service: { transform: { compress: { enabled: false }, images: { enabled: false } } },
    l1TtlMs: 60_000,
    hitFlushMs: 20,
    serviceShards: where.serviceShards,
  };
  return [await startEdge(redisUrl, originUrl, setup), await startEdge(redisUrl, originUrl, setup)];
}

describe.each(TARGETS)('admin API: listing and purging on %s', (target) => {
  test('lists what the edges stored, filtered and paged, with each entry described', async ({ redis, origin }) => {
    serveCatalogue(origin);
    const [a, b] = await twoNodes(await storeAt(target, redis), origin.url);
    const admin = await startAdmin(a);
    try {
      for (const path of Object.keys(CATALOGUE)) await a.get(path, { headers: { 'accept-encoding': 'gzip' } });
      await a.get('/missing');
      for (let i = 0; i < 3; i++) await b.get('/img/hero.png'); // hits counted by the other node
      const list = (query: string) => admin.call('GET', `/v1/services/${a.service}/entries${query}`);
      await waitFor(async () => (await list('?minHits=3')).json.items.length === 1, 'the hits to reach Redis');
      const paths = async (query: string) =>
        ((await list(query)).json.items as { path: string }[]).map((i) => i.path).sort();

      expect(await paths('')).toEqual([...Object.keys(CATALOGUE), '/missing'].sort());
      expect(await paths('?type=image/*')).toEqual(['/img/hero.png', '/img/logo.svg', '/img/team/ana.jpg']);
      expect(await paths('?type=text/css')).toEqual(['/css/site.css']);
      expect(await paths('?minSize=1000&maxSize=4000')).toEqual(['/css/site.css', '/img/hero.png', '/index.html']);
      expect(await paths('?prefix=/img/')).toEqual(['/img/hero.png', '/img/logo.svg', '/img/team/ana.jpg']);
      expect(await paths('?glob=/img/*.jpg')).toEqual(['/img/team/ana.jpg']);
      expect(await paths('?tag=brand')).toEqual(['/css/site.css', '/img/logo.svg']);
      expect(await paths('?status=404')).toEqual(['/missing']);
      expect(await paths('?minHits=3')).toEqual(['/img/hero.png']);
      expect(await paths(`?storedAfter=${new Date(Date.now() + 60_000).toISOString()}`)).toEqual([]);
      expect(await paths(`?storedBefore=${Date.now() + 60_000}&type=text/html`)).toEqual(['/index.html']);

      const hero = (await list('?tag=hero')).json.items[0];
      expect(hero).toMatchObject({
        url: `GET http://${a.host}/img/hero.png`,
        path: '/img/hero.png',
        contentType: 'image/png',
        status: 200,
        size: 4_000,
        sizes: { identity: 4_000 },
        tags: ['hero', 'home'],
        fresh: true,
        hits: 3,
      });
      expect(Date.parse(hero.freshUntil) - Date.parse(hero.storedAt)).toBeGreaterThanOrEqual(599_000);
      // The tagging header is the edge's: clients never see it, from a fill or a hit.
      expect((await b.get('/img/hero.png')).headers['surrogate-key']).toBeUndefined();

      // Pages of 2 give every entry exactly once, then a null cursor.
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await list(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.status).toBe(200);
        expect(page.json.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.json.items.map((i: { path: string }) => i.path));
        cursor = page.json.nextCursor;
      } while (cursor);
      expect(seen.sort()).toEqual(await paths(''));

      // A cursor belongs to its filter; bad input says what is wrong, with a stable code.
      const first = await list('?limit=1&type=image/*');
      const crossed = await list(`?limit=1&type=text/css&cursor=${first.json.nextCursor}`);
      expect(crossed.status).toBe(400);
      expect(crossed.json.error.code).toBe('CF_ERR_ADMIN_BAD_CURSOR');
      for (const bad of [
        '?minSize=-1',
        '?minSize=10&maxSize=5',
        '?type=image',
        '?limit=5000',
        '?prefix=img',
        '?colour=red',
      ]) {
        const res = await list(bad);
        expect(res.status, bad).toBe(400);
        expect(res.json.error.code, bad).toBe('CF_ERR_ADMIN_BAD_INPUT');
      }
    } finally {
      await admin.close();
      await a.close();
      await b.close();
    }
  });

  test('purges by URL, prefix, tag, type, size and filter; no node serves purged content', async ({
    redis,
    origin,
  }) => {
    serveCatalogue(origin);
    const [a, b] = await twoNodes(await storeAt(target, redis), origin.url);
    const logLines: Record<string, unknown>[] = [];
    const admin = await startAdmin(a, logLines);
    const purge = (body: unknown) => admin.call('POST', `/v1/services/${a.service}/purge`, body);
    const warmBoth = async () => {
      for (const path of Object.keys(CATALOGUE)) {
        await a.get(path);
        await b.get(path); // b's L1 holds every entry too
      }
    };
    const statusOn = async (node: TestEdge, path: string) => (await node.get(path)).headers['x-cache-status'];
    /**
     * Node b's L1 lives a minute here: only the purge announcement (pub/sub, delivered a moment
     * after the purge returns) can make it ask Redis again, and find nothing.
     */
    const purgedOn = async (node: TestEdge, path: string) =>
      waitFor(async () => (await statusOn(node, path)) === 'Miss', `${path} to be gone from node b`);
    try {
      await warmBoth();
      // Dry run: counted, nothing changes.
      const dry = await purge({ filter: { type: 'image/*' }, dryRun: true });
      expect(dry.json).toMatchObject({ purged: 3, dryRun: true, soft: false });
      expect(await statusOn(b, '/img/hero.png')).toBe('Hit');

      const byType = await purge({ filter: { type: 'image/*' } });
      expect(byType.status).toBe(200);
      expect(byType.json.purged).toBe(3);
      for (const path of ['/img/hero.png', '/img/logo.svg', '/img/team/ana.jpg']) {
        await purgedOn(b, path); // b's L1 copy went with the announcement
      }
      expect(await statusOn(b, '/css/site.css')).toBe('Hit');

      await warmBoth();
      expect((await purge({ filter: { tag: 'brand' } })).json.purged).toBe(2);
      await purgedOn(b, '/img/logo.svg');
      await purgedOn(b, '/css/site.css');
      expect(await statusOn(b, '/index.html')).toBe('Hit');

      await warmBoth();
      expect((await purge({ filter: { prefix: '/img/team/' } })).json.purged).toBe(1);
      expect((await purge({ filter: { minSize: 10_000 } })).json.purged).toBe(1); // /js/app.js
      expect((await purge({ filter: { tag: 'home', type: 'text/html' } })).json.purged).toBe(1);
      expect((await purge({ url: `http://${a.host}/img/hero.png` })).json.purged).toBe(1);
      for (const path of ['/img/team/ana.jpg', '/js/app.js', '/index.html', '/img/hero.png']) {
        await purgedOn(b, path);
      }

      // The whole service, only when said so.
      await warmBoth();
      const unscoped = await purge({ filter: {} });
      expect(unscoped.status).toBe(400);
      expect(unscoped.json.error.code).toBe('CF_ERR_ADMIN_UNSCOPED_PURGE');
      expect((await purge({ url: 'http://elsewhere.test/x' })).status).toBe(400);
      expect((await purge({ all: true, filter: { tag: 'x' } })).status).toBe(400);
      const everything = await purge({ all: true });
      expect(everything.json.purged).toBe(Object.keys(CATALOGUE).length);
      for (const path of Object.keys(CATALOGUE)) await purgedOn(b, path);
      expect((await admin.call('GET', `/v1/services/${a.service}/entries`)).json.items.length).toBe(
        Object.keys(CATALOGUE).length, // just refilled by the loop above
      );

      const stats = (await admin.call('GET', `/v1/services/${a.service}/stats`)).json;
      expect(stats.purges).toBe(3 + 2 + 1 + 1 + 1 + 1 + Object.keys(CATALOGUE).length);

      // Every purge is audit-logged: who, what, how many; never the token.
      const audits = logLines.filter((l) => l.audit === 'purge');
      expect(audits.length).toBe(8);
      expect(audits[1]).toMatchObject({ caller: 'operator', selector: { filter: { type: 'image/*' } }, purged: 3 });
      expect(audits.at(-1)).toMatchObject({ selector: { all: true }, purged: Object.keys(CATALOGUE).length });
      expect(JSON.stringify(logLines)).not.toContain(OPERATOR_TOKEN);
    } finally {
      await admin.close();
      await a.close();
      await b.close();
    }
  });

  test('a soft purge makes entries stale: the next request revalidates, and a 304 keeps the body', async ({
    redis,
    origin,
  }) => {
    serveCatalogue(origin);
    const [a, b] = await twoNodes(await storeAt(target, redis), origin.url);
    const admin = await startAdmin(a);
    try {
      await a.get('/css/site.css');
      expect((await b.get('/css/site.css')).headers['x-cache-status']).toBe('Hit');
      const soft = await admin.call('POST', `/v1/services/${a.service}/purge`, {
        filter: { tag: 'theme' },
        soft: true,
      });
      expect(soft.json).toMatchObject({ purged: 1, soft: true });
      const [item] = (await admin.call('GET', `/v1/services/${a.service}/entries?tag=theme`)).json.items;
      expect(item.fresh).toBe(false);

      origin.handle((req, res) => {
        if (req.headers['if-none-match'] === '"v1"') {
          res.writeHead(304, { etag: '"v1"', 'cache-control': 'max-age=600' });
          res.end();
        } else {
          res.writeHead(500);
          res.end();
        }
      });
      const before = origin.requests.length;
      const revalidated = await b.get('/css/site.css');
      expect(origin.requests.length).toBe(before + 1);
      expect(origin.requests.at(-1)?.headers['if-none-match']).toBe('"v1"');
      expect(revalidated.status).toBe(200);
      expect(revalidated.body.length).toBe(1_200);
      await settled(b); // the 304 refreshes the stored object after the response
      expect((await b.get('/css/site.css')).headers['x-cache-status']).toBe('Hit'); // fresh again

      // Soft purge of one URL, through POST /v1/purge
      const one = await admin.call('POST', '/v1/purge', { url: `http://${a.host}/css/site.css`, soft: true });
      expect(one.json).toMatchObject({ purged: 1, soft: true });
      expect((await admin.call('GET', `/v1/services/${a.service}/entries?tag=theme`)).json.items[0].fresh).toBe(false);
    } finally {
      await admin.close();
      await a.close();
      await b.close();
    }
  });

  test('tag header names are configurable; Cache-Tag separates with commas; tags stay in their service', async ({
    redis,
    origin,
  }) => {
    origin.handle((req, res) => {
      res.writeHead(200, {
        'content-type': 'text/plain',
        'cache-control': 'max-age=600',
        'x-tags': 'alpha beta',
        'cache-tag': 'gamma,delta',
        'surrogate-key': 'epsilon',
      });
      res.end(`body of ${req.url}`);
    });
    const where = await storeAt(target, redis);
    const custom = await startEdge(where.url, origin.url, {
      serviceShards: where.serviceShards,
      service: { cache: { tagHeaders: ['X-Tags', 'Cache-Tag'] } },
      config: { admin: { tokens: { operator: [OPERATOR_TOKEN] } } },
    });
    const other = await startEdge(where.url, origin.url, { serviceShards: where.serviceShards });
    const admin = await startAdmin(custom);
    try {
      const fill = await custom.get('/tagged');
      expect(fill.headers['x-tags']).toBeUndefined(); // consumed by the edge
      expect(fill.headers['cache-tag']).toBeUndefined();
      expect(fill.headers['surrogate-key']).toBe('epsilon'); // not a tag header of this service
      await other.get('/tagged'); // another service, same tags from the same origin
      const [item] = (await admin.call('GET', `/v1/services/${custom.service}/entries`)).json.items;
      expect(item.tags.sort()).toEqual(['alpha', 'beta', 'delta', 'gamma']);
      const purged = await admin.call('POST', `/v1/services/${custom.service}/purge`, { filter: { tag: 'gamma' } });
      expect(purged.json.purged).toBe(1);
      expect((await other.get('/tagged')).headers['x-cache-status']).toBe('Hit'); // its entry is its own
    } finally {
      await admin.close();
      await custom.close();
      await other.close();
    }
  });
});
