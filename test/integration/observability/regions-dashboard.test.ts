/**
 * The regions dashboard tells the truth: two real `cachefront sync` processes (regions eu and us,
 * each its own redis-server) keep each other in step while eu fills and purges, a real Prometheus
 * scrapes both, and every panel of grafana/dashboards/regions.json must evaluate with data.
 * `promtool check metrics` passes on a sync worker's metrics.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeUrl } from '../../../src/store/bulk-purge.js';
import { RedisStore } from '../../../src/store/redis-store.js';
import { storePages } from '../../helpers/entries.js';
import { send } from '../../helpers/http.js';
import {
  evaluatePanels,
  exited,
  freePort,
  startPrometheus,
  type TestPrometheus,
  until,
} from '../../helpers/prometheus.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { HAVE_PROMETHEUS } from '../../helpers/tools.js';
import { waitFor } from '../../helpers/wait.js';

const ROOT = process.cwd();
const SERVICE = 'obs';
const REGIONS = ['eu', 'us'] as const;

describe.skipIf(!HAVE_PROMETHEUS)('the regions dashboard against a real Prometheus', () => {
  const children: ChildProcess[] = [];
  const redis = new Map<string, TestRedis>();
  const metricsPorts = new Map<string, number>();
  let dir: string;
  let prometheus: TestPrometheus;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cachefront-regions-prom-'));
    for (const region of REGIONS) {
      redis.set(region, await startTestRedis());
      metricsPorts.set(region, await freePort());
    }
    for (const region of REGIONS) {
      const peer = REGIONS.find((other) => other !== region) as string;
      writeFileSync(
        join(dir, `${region}.yaml`),
        [
          `redis: { url: "${redis.get(region)?.url}" }`,
          `region: { id: ${region}, peers: [{ id: ${peer}, redis: { url: "${redis.get(peer)?.url}" } }] }`,
          `sync: { metrics: { listen: { port: ${metricsPorts.get(region)} } }, pollMs: 20, trimEveryMs: 500, prewarm: { objects: all, waitMs: 0 } }`,
          'services:',
          `  - id: ${SERVICE}`,
          '    hosts: [obs.test]',
          '    origin: { url: "http://127.0.0.1:9" }',
        ].join('\n'),
      );
      children.push(
        spawn(
          process.execPath,
          [join(ROOT, 'bin', 'cachefront.mjs'), 'sync', '--config', join(dir, `${region}.yaml`)],
          {
            env: { ...process.env, REDIS_URL: '', LOG_LEVEL: 'warn' },
            stdio: 'ignore',
          },
        ),
      );
    }
    for (const port of metricsPorts.values()) {
      await until(
        async () => (await send(`http://127.0.0.1:${port}`, { path: '/metrics' })).status === 200,
        'sync metrics',
      );
    }
    prometheus = await startPrometheus(
      dir,
      [...metricsPorts.values()].map((port) => `127.0.0.1:${port}`),
    );
    children.push(prometheus.child);
    // eu fills two pages and purges one: us copies both, then applies the purge.
    const eu = redis.get('eu') as TestRedis;
    const store = new RedisStore(eu.client(), false, eu.client(), undefined, 1, 'eu');
    await storePages(store, SERVICE, ['Aa11', 'Bb22'], Date.now());
    const us = (redis.get('us') as TestRedis).client();
    await waitFor(async () => (await us.keys(`cf:{${SERVICE}}:e:*`)).length === 2, 'us to copy both pages');
    await purgeUrl(store, SERVICE, 'Aa11', undefined, false, Date.now());
    await waitFor(async () => (await us.keys(`cf:{${SERVICE}}:e:*`)).length === 1, 'us to apply the purge');
    await prometheus.scraped(Date.now() / 1000);
  }, 90_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map(exited));
    for (const server of redis.values()) await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every panel evaluates, with data', async () => {
    const file = 'regions.json';
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'grafana', 'dashboards', file), 'utf8'));
    const result = await evaluatePanels(prometheus.url, file, dashboard, (expr) => expr);
    expect(result.failures).toEqual([]);
    expect(result.checked).toBeGreaterThanOrEqual(8);
    // What happened shows: two copies and a purge, from eu to us.
    expect(await prometheus.value('sum(cachefront_sync_entries_shipped_total{from="eu",to="us"})')).toBe(2);
    expect(await prometheus.value('sum(cachefront_sync_purges_applied_total{from="eu",to="us"})')).toBe(1);
  });

  it('promtool accepts a sync worker’s metrics', async () => {
    const res = await send(`http://127.0.0.1:${metricsPorts.get('us')}`, { path: '/metrics' });
    const check = spawnSync('promtool', ['check', 'metrics'], { input: res.text, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });
});
