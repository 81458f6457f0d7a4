/**
 * The dashboards tell the truth: a real `cachefront serve` (two workers) under a little traffic,
 * scraped by a real Prometheus on loopback; every panel expression of every dashboard is evaluated
 * through Prometheus's HTTP API and must succeed with data. `promtool check metrics` passes on the
 * edge's own metrics, and `promtool` accepts the Prometheus config and alert rules in infra/.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send } from '../../helpers/http.js';
import { startOrigin, type TestOrigin } from '../../helpers/origin.js';
import { evaluatePanels, exited, freePort, startPrometheus, until } from '../../helpers/prometheus.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { HAVE_PROMETHEUS } from '../../helpers/tools.js';
import { waitFor } from '../../helpers/wait.js';

const ROOT = process.cwd();
const SERVICE = 'obs';

// Skipped (and said so by `npm test`) where Prometheus cannot be installed.
describe.skipIf(!HAVE_PROMETHEUS)('metrics and dashboards against a real Prometheus', () => {
  const children: ChildProcess[] = [];
  let redis: TestRedis;
  let origin: TestOrigin;
  let dir: string;
  let promUrl: string;
  let metricsUrl: string;

  beforeAll(async () => {
    redis = await startTestRedis();
    origin = await startOrigin();
    dir = mkdtempSync(join(tmpdir(), 'cachefront-prom-'));
    const [edgePort, adminPort, metricsPort] = await Promise.all([freePort(), freePort(), freePort()]);
    writeFileSync(
      join(dir, 'edge.yaml'),
      [
        `edge: { listen: { host: 127.0.0.1, port: ${edgePort} }, workers: 2 }`,
        `admin: { listen: { port: ${adminPort} } }`,
        `metrics: { listen: { port: ${metricsPort} } }`,
        `redis: { url: "${redis.url}" }`,
        'services:',
        `  - id: ${SERVICE}`,
        '    hosts: [obs.test]',
        `    origin: { url: "${origin.url}" }`,
      ].join('\n'),
    );
    const edge = spawn(
      process.execPath,
      [join(ROOT, 'bin', 'cachefront.mjs'), 'serve', '--config', join(dir, 'edge.yaml')],
      {
        env: { ...process.env, REDIS_URL: '', LOG_LEVEL: 'warn' },
        stdio: 'ignore',
      },
    );
    children.push(edge);
    metricsUrl = `http://127.0.0.1:${metricsPort}`;
    const prometheus = await startPrometheus(dir, [`127.0.0.1:${metricsPort}`]);
    children.push(prometheus.child);
    promUrl = prometheus.url;
    const edgeUrl = `http://127.0.0.1:${edgePort}`;
    await until(async () => (await send(`http://127.0.0.1:${adminPort}`, { path: '/readyz' })).status === 200, 'edge');
    await until(async () => (await send(metricsUrl, { path: '/metrics' })).status === 200, 'metrics listener');
    // A little of everything: misses, hits (L1 and Redis), a compressed page, a pass, a purge-able entry.
    origin.handle((req, res) => {
      const page = req.url?.startsWith('/page');
      res.writeHead(200, { 'content-type': page ? 'text/html' : 'text/plain', 'cache-control': 'max-age=60' });
      res.end(page ? 'x'.repeat(4096) : `hello ${req.url}`);
    });
    for (let round = 0; round < 5; round++) {
      for (const path of ['/a', '/b', `/c${round}`, '/page'])
        await send(edgeUrl, { path, headers: { host: 'obs.test', 'accept-encoding': 'gzip, br' } });
      await send(edgeUrl, { path: '/form', method: 'POST', body: 'x', headers: { host: 'obs.test' } });
    }
    // A scrape after the traffic (every counter seen at its final value), and two scrapes in the
    // last minute (the samples a rate needs). Prometheus may start scraping only after the traffic
    // is over, or scrape all through it: both are waited for, not assumed from the clock.
    await prometheus.scraped(Date.now() / 1000);
  }, 90_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGTERM');
    const stopped = Promise.all(children.map(exited));
    // What has not stopped after five seconds is killed.
    await waitFor(() => children.every((c) => c.exitCode !== null || c.signalCode !== null), 'children to exit', {
      timeoutMs: 5000,
    }).catch(() => {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    });
    await stopped;
    await origin?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every panel of every edge dashboard evaluates, with data', async () => {
    // The regions dashboard reads the sync workers: regions-dashboard.test.ts checks it.
    const files = readdirSync(join(ROOT, 'grafana', 'dashboards')).filter(
      (f) => f.endsWith('.json') && f !== 'regions.json',
    );
    expect(files.length).toBeGreaterThanOrEqual(5);
    let checked = 0;
    for (const file of files) {
      const dashboard = JSON.parse(readFileSync(join(ROOT, 'grafana', 'dashboards', file), 'utf8'));
      const result = await evaluatePanels(promUrl, file, dashboard, (expr) => expr.replaceAll('$service', SERVICE));
      expect(result.failures).toEqual([]);
      checked += result.checked;
    }
    expect(checked).toBeGreaterThan(30);
  });

  it('the service variable finds the service, and the counters add up across both workers', async () => {
    const values = JSON.parse((await send(promUrl, { path: '/api/v1/label/service/values' })).text).data as string[];
    expect(values).toContain(SERVICE);
    const query = encodeURIComponent(`sum(cachefront_requests_total{service="${SERVICE}"})`);
    const total = JSON.parse((await send(promUrl, { path: `/api/v1/query?query=${query}` })).text).data.result[0]
      .value[1];
    expect(Number(total)).toBe(25); // 5 rounds × 5 requests, whichever worker answered
    const byStatus = encodeURIComponent(`sum by (cache_status) (cachefront_requests_total{service="${SERVICE}"})`);
    const statuses = Object.fromEntries(
      (
        JSON.parse((await send(promUrl, { path: `/api/v1/query?query=${byStatus}` })).text).data.result as {
          metric: { cache_status: string };
          value: [number, string];
        }[]
      ).map((r) => [r.metric.cache_status, Number(r.value[1])]),
    );
    // Round 1: /a, /b, /c0, /page miss; later rounds: /a, /b, /page hit and /cN misses; 5 POSTs bypass.
    expect(statuses).toMatchObject({ miss: 8, hit: 12, bypass: 5, error: 0 });
  });

  it('each worker reports what its L1 and memos hold against their bounds', async () => {
    const text = (await send(metricsUrl, { path: '/metrics' })).text;
    const series = [
      ...text.matchAll(/^cachefront_bounded_bytes\{pid="(\d+)",structure="([^"]+)",kind="(used|max)"\} (\d+)$/gm),
    ];
    const pids = new Set(series.map((m) => m[1]));
    expect(pids.size).toBe(2); // one set per worker, aggregated by the primary
    for (const pid of pids) {
      const of = (structure: string, kind: string) =>
        Number(series.find((m) => m[1] === pid && m[2] === structure && m[3] === kind)?.[4]);
      expect(of('l1', 'max')).toBe(64 * 1024 * 1024); // the default l1.maxBytes
      for (const structure of ['l1', 'recv', 'vary', 'uncacheable']) {
        expect(of(structure, 'used'), structure).toBeGreaterThanOrEqual(0);
        expect(of(structure, 'used'), structure).toBeLessThanOrEqual(of(structure, 'max'));
      }
    }
    // The requests above went through the workers: something is held.
    const held = series.filter((m) => m[2] === 'recv' && m[3] === 'used').reduce((n, m) => n + Number(m[4]), 0);
    expect(held).toBeGreaterThan(0);
  });

  it('promtool accepts the edge’s metrics', () => {
    return send(metricsUrl, { path: '/metrics' }).then((res) => {
      const check = spawnSync('promtool', ['check', 'metrics'], { input: res.text, encoding: 'utf8' });
      expect(check.stdout + check.stderr).toBe('');
      expect(check.status).toBe(0);
    });
  });
});
