/**
 * One process following the catalog in Redis (CatalogWatcher over a LiveConfig): announcements
 * apply at once, a lost one is caught by the periodic check, a catalog service the file now
 * contradicts is left out (the others served), and what the process runs is reported.
 */
import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { LiveConfig } from '../../../src/config/live-config.js';
import { MemoryServiceCatalog, RedisServiceCatalog } from '../../../src/services/catalog.js';
import { CatalogWatcher } from '../../../src/services/catalog-watcher.js';
import { CATALOG_KEYS } from '../../../src/store/keys.js';
import { test } from '../../helpers/fixtures.js';
import { catalogRedis } from '../../helpers/reload.js';
import { waitFor } from '../../helpers/wait.js';

const file = (hosts: string) =>
  `catalog: { enabled: true }\nservices:\n  - { id: shop, hosts: [${hosts}], origin: { url: "http://127.0.0.1:1" } }\n`;
const who = { caller: 'operator#test', address: '127.0.0.1' };
const service = (host: string) => ({ hosts: [host], origin: { url: 'http://127.0.0.1:2' } });

describe('a process following the service catalog', () => {
  test('announced changes, lost announcements, refused services, reports', async ({ redis }) => {
    const client = new Redis(await catalogRedis(redis, 4), { maxRetriesPerRequest: 1 });
    const catalog = new RedisServiceCatalog(client);
    const live = new LiveConfig(file('shop.test'), 'test.yaml', {});
    const warnings: object[] = [];
    const watcher = new CatalogWatcher({
      catalog,
      live,
      node: 'node-1',
      checkEveryMs: 100,
      log: { info: () => undefined, warn: (obj) => warnings.push(obj) },
    });
    const ids = () => live.current.services.map((s) => s.id);
    try {
      await catalog.put('early', service('early.test'), who, Date.now());
      await watcher.start();
      // Started with what the catalog held, and reported it.
      expect(ids()).toEqual(['shop', 'early']);
      expect(await catalog.nodes(Date.now(), 5000)).toMatchObject([{ node: 'node-1', catalog: 1 }]);

      await catalog.put('news', service('news.test'), who, Date.now());
      await waitFor(() => ids().includes('news'), 'the announced service');

      // A change nobody announced (written straight into Redis): the periodic check finds it.
      await client.hset(CATALOG_KEYS.services, 'quiet', JSON.stringify({ id: 'quiet', ...service('quiet.test') }));
      await client.incr(CATALOG_KEYS.version);
      await waitFor(() => ids().includes('quiet'), 'the unannounced service');

      // The file now serves news.test: the catalog's "news" gives way, the rest stays.
      live.setFile(file('shop.test, news.test'));
      expect(ids()).toEqual(['shop', 'early', 'quiet']);
      expect(live.refused).toEqual([
        { service: 'news', issues: [expect.stringContaining('host "news.test" is already served by service "shop"')] },
      ]);
      // A definition that is not JSON is skipped; the next change still applies.
      await client.hset(CATALOG_KEYS.services, 'broken', '{not json');
      await catalog.remove('early', who, Date.now());
      await waitFor(() => !ids().includes('early'), 'the deletion');
      expect(ids()).toEqual(['shop', 'quiet']);
      await waitFor(
        () => warnings.some((w) => (w as { service?: string }).service === 'news'),
        'the refusal to be said',
      );
      const reported = await catalog.nodes(Date.now(), 5000);
      expect(reported).toMatchObject([{ node: 'node-1', catalog: live.version.catalog, file: live.version.file }]);
    } finally {
      await watcher.close();
      client.disconnect();
    }
  });

  test('the embedded store’s catalog: the same, in one process', async () => {
    const catalog = new MemoryServiceCatalog();
    const live = new LiveConfig(file('shop.test'), 'test.yaml', {});
    const watcher = new CatalogWatcher({
      catalog,
      live,
      node: 'solo',
      checkEveryMs: 60_000,
      log: { info: () => undefined, warn: () => undefined },
    });
    try {
      await watcher.start();
      const { version, created } = await catalog.put('news', service('news.test'), who, 1);
      expect(created).toBe(true);
      await waitFor(() => live.version.catalog === version, 'the announced change');
      expect(live.current.services.map((s) => s.id)).toEqual(['shop', 'news']);
      await waitFor(async () => (await catalog.nodes(Date.now(), 5000))[0]?.catalog === version, 'the report');
      expect((await catalog.remove('news', who, 2)).removed).toBe(true);
      expect((await catalog.remove('news', who, 3)).removed).toBe(false);
      await waitFor(() => live.current.services.length === 1, 'the deletion');
      expect((await catalog.audit(10)).map((r) => `${r.action} ${r.service} ${r.version}`)).toEqual([
        'delete news 2',
        'put news 1',
      ]);
    } finally {
      await watcher.close();
    }
  });
});
