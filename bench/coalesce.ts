/**
 * `npm run bench -- coalesce`: how many origin fetches a burst of concurrent cold requests costs
 * across a fleet, and how long its clients wait. Two `cachefront serve` nodes (2 workers each)
 * share one Redis (or, with BENCH_CLUSTER=1, a local Redis Cluster of 3 masters and 3 replicas);
 * COALESCE_REQUESTS (default 200) requests for one new URL are sent at once, half to each node, to
 * an origin that takes COALESCE_ORIGIN_MS (default 200) to answer, over client connections opened
 * beforehand and kept alive (as a load balancer's are).
 *
 * Printed per burst: the origin fetches it caused, the answers' statuses, when the origin was
 * first asked (ms after the burst began), and the p50 and max latency. Bursts: the same burst sent
 * to the origin itself (what the origin's latency is for this client under this load: the
 * reference); a cacheable page, the first after start (it also warms code paths) and then
 * COALESCE_BURSTS (default 9) more, each for a new URL; the last page again, now stored (the
 * burst's own cost with no origin: the floor); a `no-store` page (nobody should queue behind it).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalCluster, startLocalCluster } from '../src/redis/local-cluster.js';
import { startLocalRedis } from '../src/redis/local-server.js';
import { freePort, type Leftovers, runBenchmark, waitUntilUp } from './lib.js';

const ROOT = join(import.meta.dirname, '..');
const REQUESTS = Number(process.env.COALESCE_REQUESTS ?? 200);
const ORIGIN_MS = Number(process.env.COALESCE_ORIGIN_MS ?? 200);
const BURSTS = Number(process.env.COALESCE_BURSTS ?? 9);
const PAUSE_MS = 1000;
const CLUSTER = process.env.BENCH_CLUSTER === '1';
const HOST = 'burst.test';
const left: Leftovers = { children: [] };

/**
 * Each node's clients: connections opened before the burst and kept alive, as a load balancer's
 * or browsers' would be, so the burst measures the edge rather than 200 TCP handshakes at once.
 */
const agents = new Map<number, Agent>();
function agentFor(port: number): Agent {
  let agent = agents.get(port);
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets: REQUESTS });
    agents.set(port, agent);
  }
  return agent;
}

/** Sends one request; resolves with its status and how long the whole response took (ms). */
function timedGet(port: number, path: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host: HOST }, agent: agentFor(port) }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cachefront-coalesce-'));
  left.dir = dir;
  let redisUrl: string;
  let cluster: LocalCluster | undefined;
  if (CLUSTER) {
    cluster = await startLocalCluster();
    redisUrl = cluster.url;
    left.redis = cluster;
  } else {
    const redis = await startLocalRedis();
    redisUrl = redis.url;
    left.redis = redis;
  }

  // The origin: slow on purpose, counting fetches per path and noting when each burst first reached it.
  const fetches = new Map<string, number>();
  const firstAsked = new Map<string, number>();
  const origin = createServer((req, res) => {
    const path = req.url ?? '/';
    fetches.set(path, (fetches.get(path) ?? 0) + 1);
    if (!firstAsked.has(path)) firstAsked.set(path, performance.now());
    setTimeout(() => {
      const cacheable = !path.startsWith('/nostore');
      res.writeHead(200, {
        'content-type': 'text/html',
        'cache-control': cacheable ? 'public, max-age=600' : 'no-store',
      });
      res.end(`<p>${path} ${'a page that compresses well '.repeat(200)}</p>`);
    }, ORIGIN_MS);
  });
  const originPort = await freePort();
  await new Promise<void>((resolve) => origin.listen(originPort, '127.0.0.1', resolve));

  const nodes: { port: number; child: ChildProcess }[] = [];
  for (const name of ['a', 'b']) {
    const [port, admin, metrics] = [await freePort(), await freePort(), await freePort()];
    const config = join(dir, `${name}.yaml`);
    writeFileSync(
      config,
      [
        `edge: { listen: { host: 127.0.0.1, port: ${port} }, workers: 2, accessLog: false }`,
        `admin: { listen: { host: 127.0.0.1, port: ${admin} } }`,
        `metrics: { listen: { host: 127.0.0.1, port: ${metrics} } }`,
        `redis: { url: "${redisUrl}", serviceShards: ${CLUSTER ? 16 : 1} }`,
        'services:',
        '  - id: burst',
        `    hosts: [${HOST}]`,
        `    origin: { url: "http://127.0.0.1:${originPort}" }`,
      ].join('\n'),
    );
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'cachefront.mjs'), 'serve', '--config', config], {
      env: { ...process.env, LOG_LEVEL: 'error', REDIS_URL: redisUrl },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    left.children.push(child);
    nodes.push({ port, child });
    await waitUntilUp(`http://127.0.0.1:${admin}/readyz`);
  }

  console.log(
    `${REQUESTS} concurrent requests for one new URL, half to each of 2 nodes × 2 workers, on ${CLUSTER ? 'a Redis Cluster (3 masters, 3 replicas)' : 'one Redis'}; the origin answers in ${ORIGIN_MS} ms\n`,
  );
  console.log(
    `${'burst'.padEnd(30)} ${'origin fetches'.padStart(15)} ${'200s'.padStart(6)} ${'asked at ms'.padStart(12)} ${'p50 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'p50 node a / b'.padStart(18)}`,
  );
  const ports = nodes.map((node) => node.port);
  // Open every client connection first (a request each for a page nobody measures), to the
  // nodes and to the origin.
  await Promise.all(Array.from({ length: REQUESTS }, (_, i) => timedGet(ports[i % ports.length] as number, '/warm')));
  await Promise.all(Array.from({ length: REQUESTS }, () => timedGet(originPort, '/warm')));

  /** Sends one burst for `path` (to `targets`, in turn) and prints its row; returns its p50. */
  const burst = async (name: string, path: string, targets: number[]): Promise<number> => {
    // Bursts a second apart, as independent ones are: the last one's stores and bookkeeping are done.
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    const before = fetches.get(path) ?? 0;
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: REQUESTS }, (_, i) => timedGet(targets[i % targets.length] as number, path)),
    );
    const latencies = answers.map((a) => a.ms);
    const asked = firstAsked.get(path);
    const p50 = percentile(latencies, 50);
    const byNode = targets.map((_, n) =>
      percentile(
        latencies.filter((_, i) => i % targets.length === n),
        50,
      ).toFixed(0),
    );
    const columns = [
      name.padEnd(30),
      String((fetches.get(path) ?? 0) - before).padStart(15),
      String(answers.filter((a) => a.status === 200).length).padStart(6),
      (asked === undefined || asked < started ? '-' : (asked - started).toFixed(0)).padStart(12),
      p50.toFixed(0).padStart(8),
      Math.max(...latencies)
        .toFixed(0)
        .padStart(8),
      (targets.length > 1 ? byNode.join(' / ') : '').padStart(18),
    ];
    console.log(columns.join(' '));
    return p50;
  };

  const run = Date.now();
  // The reference: the same burst straight to the origin, over kept-alive connections too.
  const originAlone = await burst('the origin alone (reference)', `/direct-${run}`, [originPort]);
  // The first cold burst after start also warms its code paths (JIT, Lua scripts, the relay).
  await burst('cacheable, first after start', `/page-${run}-warm`, ports);
  const cold: number[] = [];
  for (let i = 1; i <= BURSTS; i++) cold.push(await burst(`cacheable page ${i}`, `/page-${run}-${i}`, ports));
  // The last page again, now stored: what a burst costs here without the origin (the floor).
  await burst('the same page, stored', `/page-${run}-${BURSTS}`, ports);
  await burst('no-store page', `/nostore-${run}`, ports);

  const median = percentile(cold, 50);
  console.log(
    `\ncold bursts: median p50 ${median.toFixed(0)} ms = ${(median / originAlone).toFixed(2)}× the origin alone under the same burst (${originAlone.toFixed(0)} ms), ${(median / ORIGIN_MS).toFixed(2)}× its ${ORIGIN_MS} ms delay`,
  );
  for (const agent of agents.values()) agent.destroy();
  origin.close();
}

runBenchmark(main, left);
