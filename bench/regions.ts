/**
 * `npm run bench -- regions`: how fast purges and fills propagate between regions under a steady
 * load. Three regions on loopback (eu, us, ap), each its own redis-server, a `cachefront serve`
 * node (1 worker) and a `cachefront sync` worker (defaults, except pre-warming every fill at once:
 * `prewarm: { objects: all, waitMs: 0 }`), in front of one origin. For REGIONS_SECONDS (default 15)
 * the load goes round the regions: REGIONS_FILLS (default 50) new pages a second, each fetched
 * once in one region, and REGIONS_PURGES (default 10) purges a second of pages fetched earlier
 * (not the sampled ones below), through one region's admin API.
 *
 * Purge lag: from the purge's record in its region's journal (the receipt's stream id) to each
 * other region's receipt (written once applied there). Fill lag: from the fetching region's answer
 * to the page being servable from cache in each other region (sampled: one fill in five, asked
 * with `Cache-Control: only-if-cached` every 10 ms, which never reaches the origin).
 *
 * Where Prometheus is installed, it scrapes the three sync workers through the run, and the
 * regions dashboard's lag panels (grafana/dashboards/regions.json) are evaluated over the run and
 * printed: what an operator's Grafana would have shown.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalRedis, startLocalRedis } from '../src/redis/local-server.js';
import { freePort, type Leftovers, runBenchmark, waitUntilUp } from './lib.js';

const ROOT = join(import.meta.dirname, '..');
const SECONDS = Number(process.env.REGIONS_SECONDS ?? 15);
const FILLS = Number(process.env.REGIONS_FILLS ?? 50);
const PURGES = Number(process.env.REGIONS_PURGES ?? 10);
const IDS = ['eu', 'us', 'ap'] as const;
const TOKEN = 'bench-operator-token-0123456789';
const HOST = 'regions.test';
const left: Leftovers = { children: [] };

interface Region {
  id: string;
  edge: number;
  admin: number;
}

function call(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function row(name: string, lags: number[]): string {
  return [
    name.padEnd(27),
    String(lags.length).padStart(8),
    percentile(lags, 50).toFixed(0).padStart(8),
    percentile(lags, 99).toFixed(0).padStart(8),
    Math.max(...lags)
      .toFixed(0)
      .padStart(8),
  ].join(' ');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cachefront-regions-'));
  left.dir = dir;
  const servers: LocalRedis[] = [];
  left.redis = { stop: async () => void (await Promise.all(servers.map((s) => s.stop()))) };
  for (const _ of IDS) servers.push(await startLocalRedis());
  const origin = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'public, max-age=600' });
    res.end(`<p>${req.url} ${'a page of some length '.repeat(100)}</p>`);
  });
  const originPort = await freePort();
  await new Promise<void>((resolve) => origin.listen(originPort, '127.0.0.1', resolve));

  const regions: Region[] = [];
  const syncPorts: number[] = [];
  for (const [i, id] of IDS.entries()) {
    const [edge, admin, metrics, syncMetrics] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    syncPorts.push(syncMetrics);
    const peers = IDS.filter((other) => other !== id)
      .map((other) => `{ id: ${other}, redis: { url: "${servers[IDS.indexOf(other)]?.url}" } }`)
      .join(', ');
    const config = join(dir, `${id}.yaml`);
    writeFileSync(
      config,
      [
        `edge: { listen: { host: 127.0.0.1, port: ${edge} }, workers: 1, accessLog: false }`,
        `admin: { listen: { host: 127.0.0.1, port: ${admin} }, tokens: { operator: [${TOKEN}] } }`,
        `metrics: { listen: { host: 127.0.0.1, port: ${metrics} } }`,
        `redis: { url: "${servers[i]?.url}" }`,
        `region: { id: ${id}, peers: [${peers}] }`,
        `sync: { metrics: { listen: { host: 127.0.0.1, port: ${syncMetrics} } }, prewarm: { objects: all, waitMs: 0 } }`,
        'services:',
        '  - id: regions',
        `    hosts: [${HOST}]`,
        `    origin: { url: "http://127.0.0.1:${originPort}" }`,
      ].join('\n'),
    );
    for (const command of ['serve', 'sync']) {
      const child: ChildProcess = spawn(
        process.execPath,
        [join(ROOT, 'bin', 'cachefront.mjs'), command, '--config', config],
        {
          env: { ...process.env, LOG_LEVEL: 'error', REDIS_URL: '' },
          stdio: ['ignore', 'ignore', 'inherit'],
        },
      );
      left.children.push(child);
    }
    await waitUntilUp(`http://127.0.0.1:${admin}/readyz`);
    regions.push({ id, edge, admin });
  }
  // The sync workers create their consumer groups as they start: give them a moment to follow.
  await sleep(1000);
  const prometheus = await startPrometheus(dir, syncPorts);

  console.log(
    `three regions on loopback (${IDS.join(', ')}): a redis-server, a \`cachefront serve\` (1 worker) and a \`cachefront sync\` each; ${FILLS} fills/s and ${PURGES} purges/s for ${SECONDS} s\n`,
  );
  const auth = { authorization: `Bearer ${TOKEN}` };
  const filled: string[] = [];
  const purgeLags: number[] = [];
  const fillLags: number[] = [];
  const pending: Promise<void>[] = [];
  const byPair = new Map<string, number[]>();
  const note = (from: string, to: string, lag: number) => {
    const pair = `${from} → ${to}`;
    byPair.set(pair, [...(byPair.get(pair) ?? []), lag]);
  };
  let unfinished = 0;

  /** One fill in `region`; sampled fills are then watched for in the others. */
  const fill = async (n: number, region: Region) => {
    const path = `/f/${n}`;
    await call(region.edge, 'GET', path, { host: HOST });
    const answered = Date.now();
    // Purges pick among the pages not watched: a watched page purged meanwhile would never show.
    if (n % 5 !== 0) return void filled.push(path);
    await Promise.all(
      regions
        .filter((other) => other !== region)
        .map(async (other) => {
          const deadline = answered + 10_000;
          while (Date.now() < deadline) {
            const res = await call(other.edge, 'GET', path, { host: HOST, 'cache-control': 'only-if-cached' });
            if (res.status === 200) return void fillLags.push(Date.now() - answered);
            await sleep(10);
          }
          unfinished++;
        }),
    );
  };

  /** One purge through `region`'s admin API; then its receipt is watched until every region applied it. */
  const purge = async (region: Region) => {
    const path = filled[Math.floor(Math.random() * filled.length)];
    if (!path) return;
    const res = await call(region.admin, 'POST', '/v1/purge', auth, { url: `http://${HOST}${path}` });
    const receipt = (JSON.parse(res.text) as { receipt?: string }).receipt;
    if (!receipt) throw new Error(`a purge returned no receipt: ${res.text}`);
    const journaled = Number(/:(\d+)-/.exec(receipt)?.[1]);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const state = JSON.parse(
        (await call(region.admin, 'GET', `/v1/services/regions/purges/${receipt}`, auth)).text,
      ) as {
        complete: boolean;
        regions: Record<string, string | null>;
      };
      if (state.complete) {
        for (const [to, at] of Object.entries(state.regions)) {
          if (to === region.id || at === null) continue;
          const lag = Date.parse(at) - journaled;
          purgeLags.push(lag);
          note(region.id, to, lag);
        }
        return;
      }
      await sleep(10);
    }
    unfinished++;
  };

  const started = Date.now();
  let fills = 0;
  let purges = 0;
  while (Date.now() - started < SECONDS * 1000) {
    const elapsed = (Date.now() - started) / 1000;
    while (fills < elapsed * FILLS) {
      pending.push(fill(fills, regions[fills % regions.length] as Region));
      fills++;
    }
    while (purges < elapsed * PURGES) {
      pending.push(purge(regions[purges % regions.length] as Region));
      purges++;
    }
    await sleep(5);
  }
  await Promise.all(pending);

  console.log(
    `${'propagation'.padEnd(27)} ${'samples'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)}`,
  );
  console.log(row('purge (journal → applied)', purgeLags));
  for (const [pair, lags] of [...byPair].sort()) console.log(row(`  purge ${pair}`, lags));
  console.log(row('fill (answer → servable)', fillLags));
  console.log(`\n${fills} fills and ${purges} purges sent; ${unfinished} not propagated within 10 s`);
  if (prometheus) await printLagPanels(prometheus, Math.ceil((Date.now() - started) / 1000) + 5);
  origin.close();
}

/** Prometheus scraping the sync workers every second, when it is installed (else undefined). */
async function startPrometheus(dir: string, ports: number[]): Promise<string | undefined> {
  if (spawnSync('prometheus', ['--version']).status !== 0) {
    console.log('(prometheus is not installed: the dashboard panels are not evaluated)');
    return undefined;
  }
  const port = await freePort();
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: sync\n    static_configs:\n      - targets: [${ports.map((p) => `'127.0.0.1:${p}'`).join(', ')}]\n`,
  );
  left.children.push(
    spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'prom')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    ),
  );
  await waitUntilUp(`http://127.0.0.1:${port}/-/ready`);
  return `http://127.0.0.1:${port}`;
}

/** The regions dashboard's lag panels, evaluated over the run (`window` seconds). */
async function printLagPanels(prometheus: string, window: number): Promise<void> {
  // Two scrapes after the load, so the last increments are in.
  await sleep(2500);
  const dashboard = JSON.parse(readFileSync(join(ROOT, 'grafana', 'dashboards', 'regions.json'), 'utf8')) as {
    panels: { title: string; targets: { expr: string; legendFormat: string }[] }[];
  };
  console.log(`\nthe regions dashboard's lag panels over the run (Prometheus, [${window}s]):`);
  const port = Number(new URL(prometheus).port);
  for (const panel of dashboard.panels.filter((p) => p.title.includes('lag'))) {
    console.log(`  ${panel.title}`);
    for (const target of panel.targets) {
      const expr = target.expr.replaceAll('$__rate_interval', `${window}s`);
      const res = await call(port, 'GET', `/api/v1/query?query=${encodeURIComponent(expr)}`, {});
      const result = (
        JSON.parse(res.text) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } }
      ).data.result;
      for (const series of result.sort((a, b) => JSON.stringify(a.metric).localeCompare(JSON.stringify(b.metric)))) {
        const legend = target.legendFormat.replace(/\{\{(\w+)\}\}/g, (_, name: string) => series.metric[name] ?? '');
        const seconds = Number(series.value[1]);
        console.log(`    ${legend.padEnd(16)} ${Number.isNaN(seconds) ? '—' : `${(seconds * 1000).toFixed(0)} ms`}`);
      }
    }
  }
}

runBenchmark(main, left);
