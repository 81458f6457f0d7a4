/**
 * `cachefront sync` follows the service catalog: started when no service exists, it follows a
 * service the catalog creates afterwards — copying its fills from the other region and applying
 * its purges — and reports what it runs, like every process of the region.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { type LocalRedis, startLocalRedis } from '../../../src/redis/local-server.js';
import { RedisServiceCatalog } from '../../../src/services/catalog.js';
import { purgeUrl } from '../../../src/store/bulk-purge.js';
import { RedisStore } from '../../../src/store/redis-store.js';
import { storePages } from '../../helpers/entries.js';
import { test } from '../../helpers/fixtures.js';
import { exited, freePort } from '../../helpers/prometheus.js';
import { waitFor } from '../../helpers/wait.js';

const REGIONS = ['eu', 'us'] as const;
const who = { caller: 'operator#test', address: '127.0.0.1' };

describe('cachefront sync and the service catalog', () => {
  test('a service created after the sync started is followed: its fills copied, its purges applied', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cachefront-sync-catalog-'));
    const servers = new Map<string, LocalRedis>();
    const children: ChildProcess[] = [];
    const clients: Redis[] = [];
    let output = '';
    try {
      for (const region of REGIONS) servers.set(region, await startLocalRedis());
      const url = (region: string) => (servers.get(region) as LocalRedis).url;
      for (const region of REGIONS) {
        const peer = REGIONS.find((other) => other !== region) as string;
        const file = join(dir, `${region}.yaml`);
        writeFileSync(
          file,
          [
            `redis: { url: "${url(region)}" }`,
            `region: { id: ${region}, peers: [{ id: ${peer}, redis: { url: "${url(peer)}" } }] }`,
            `sync: { metrics: { listen: { port: ${await freePort()} } }, pollMs: 20, prewarm: { objects: all, waitMs: 0 } }`,
            'catalog: { enabled: true, checkEveryMs: 200 }',
          ].join('\n'),
        );
        const child = spawn(
          process.execPath,
          [join(process.cwd(), 'bin', 'cachefront.mjs'), 'sync', '--config', file],
          {
            env: { ...process.env, REDIS_URL: '' },
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        child.stdout?.on('data', (d) => {
          output += d;
        });
        child.stderr?.on('data', (d) => {
          output += d;
        });
        children.push(child);
      }
      const client = (region: string) => {
        const c = new Redis(url(region), { maxRetriesPerRequest: 1 });
        clients.push(c);
        return c;
      };
      const [eu, us] = [client('eu'), client('us')];
      await waitFor(
        () => (output.match(/following the peers’ journals/g) ?? []).length === 2,
        `both syncs to start: ${output}`,
      );

      // The service arrives through each region's catalog (as PUT /v1/services/news makes it).
      for (const redis of [eu, us]) {
        await new RedisServiceCatalog(redis).put(
          'news',
          { hosts: ['news.test'], origin: { url: 'http://127.0.0.1:9' } },
          who,
          Date.now(),
        );
      }
      await waitFor(
        async () =>
          (await new RedisServiceCatalog(us).nodes(Date.now(), 5000)).some(
            (n) => n.node.startsWith('sync@') && n.catalog === 1,
          ),
        'us’s sync to report the new catalog',
      );

      const store = new RedisStore(eu, false, eu, undefined, 1, 'eu');
      await storePages(store, 'news', ['Aa11', 'Bb22'], Date.now());
      await waitFor(async () => (await us.keys('cf:{news}:e:*')).length === 2, 'us to copy both pages');
      await purgeUrl(store, 'news', 'Aa11', undefined, false, Date.now());
      await waitFor(async () => (await us.keys('cf:{news}:e:*')).length === 1, 'us to apply the purge');
      expect(output).toContain('sync: following the journals of the services now configured');
    } finally {
      for (const child of children) child.kill('SIGTERM');
      await Promise.all(children.map(exited));
      for (const c of clients) c.disconnect();
      for (const server of servers.values()) await server.stop();
      rmSync(dir, { recursive: true, force: true });
      expect(children.map((child) => child.exitCode)).toEqual([0, 0]);
    }
  });
});
