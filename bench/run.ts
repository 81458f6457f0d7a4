/**
 * `npm run bench`: starts a redis-server, the benchmark origin, the edge (2 workers, from dist/) and
 * nginx's proxy_cache, then drives each with wrk on this machine and prints requests/s and
 * latency percentiles, the Redis commands per hit, and the edge/nginx ratios from the same run.
 * BENCH_DURATION (seconds per run, default 8), BENCH_CONNECTIONS (default 64).
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startLocalRedis } from '../src/redis/local-server.js';
import { freePort, wrk as runWrk, type WrkResult, waitUntilUp as waitFor } from './lib.js';

const ROOT = join(import.meta.dirname, '..');
const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const HOST = 'bench.test';
const children: ChildProcess[] = [];

const wrk = (url: string, extra: string[] = [], seconds = DURATION): Promise<WrkResult> =>
  runWrk(url, { host: HOST, connections: CONNECTIONS, seconds, extra });

function edgeConfig(edgePort: number, adminPort: number, originPort: number, l1Bytes: number): string {
  return [
    `edge: { listen: { host: 127.0.0.1, port: ${edgePort} }, workers: 2 }`,
    `admin: { listen: { host: 127.0.0.1, port: ${adminPort} } }`,
    `l1: { maxBytes: ${l1Bytes}, ttlMs: 1000 }`,
    'services:',
    `  - id: bench`,
    `    hosts: [${HOST}]`,
    `    origin: { url: "http://127.0.0.1:${originPort}", maxConnections: 256 }`,
    `    cache: { maxObjects: 1000000 }`,
  ].join('\n');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cachefront-bench-'));
  const redis = await startLocalRedis();
  const [originPort, edgePort, edgeAdmin, rawPort, rawAdmin, nginxPort] = (await Promise.all(
    Array.from({ length: 6 }, freePort),
  )) as [number, number, number, number, number, number];
  try {
    const origin = fork(join(ROOT, 'bench', 'origin.mjs'), [String(originPort)], { stdio: 'ignore' });
    children.push(origin);
    const startEdge = (port: number, admin: number, l1: number, name: string) => {
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, edgeConfig(port, admin, originPort, l1));
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'cachefront.mjs'), 'serve', '--config', file], {
        env: { ...process.env, REDIS_URL: redis.url, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn' },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      children.push(child);
    };
    startEdge(edgePort, edgeAdmin, 64 * 1024 * 1024, 'edge');
    startEdge(rawPort, rawAdmin, 0, 'edge-no-l1');
    const conf = readFileSync(join(ROOT, 'bench', 'nginx.conf.template'), 'utf8')
      .replaceAll('__PORT__', String(nginxPort))
      .replaceAll('__ORIGIN__', `127.0.0.1:${originPort}`)
      .replaceAll('__DIR__', dir)
      // As root, nginx's workers would run as "nobody" and could not write to the temp dir.
      .replace('__USER__', process.getuid?.() === 0 ? 'user root;' : '');
    writeFileSync(join(dir, 'nginx.conf'), conf);
    const nginx = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(nginx);

    const origin1k = `http://127.0.0.1:${originPort}/1k`;
    const edge = (port: number, path: string) => `http://127.0.0.1:${port}${path}`;
    await waitFor(origin1k);
    await waitFor(`http://127.0.0.1:${edgeAdmin}/readyz`);
    await waitFor(`http://127.0.0.1:${rawAdmin}/readyz`);
    await waitFor(edge(nginxPort, '/1k'));
    // Prime every cache (nginx stores on the first miss; the edge likewise).
    for (const port of [edgePort, rawPort, nginxPort]) {
      for (const path of ['/1k', '/100k']) {
        for (let i = 0; i < 3; i++) await waitFor(edge(port, path), { host: HOST });
      }
    }
    // A short warm-up so JIT and connection pools are settled before measuring.
    await wrk(edge(edgePort, '/1k'), [], 2);
    await wrk(edge(nginxPort, '/1k'), [], 2);

    const results: Record<string, WrkResult> = {};
    const measure = async (name: string, url: string, extra: string[] = []) => {
      results[name] = await wrk(url, extra);
      const r = results[name];
      console.log(
        `${name.padEnd(34)} ${r.rps.toFixed(0).padStart(8)} req/s   p50 ${r.p50ms.toFixed(2).padStart(6)} ms   p99 ${r.p99ms
          .toFixed(2)
          .padStart(6)} ms${r.errors ? `   (${r.errors})` : ''}`,
      );
    };
    console.log(`\nwrk -t2 -c${CONNECTIONS} -d${DURATION}s on ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'})\n`);
    await measure('origin direct 1 KiB', origin1k);
    await measure('edge hit 1 KiB (L1)', edge(edgePort, '/1k'));
    await measure('edge hit 100 KiB (L1)', edge(edgePort, '/100k'));
    const client = new Redis(redis.url);
    await client.config('RESETSTAT');
    await measure('edge hit 1 KiB (Redis, no L1)', edge(rawPort, '/1k'));
    const stats = await client.info('commandstats');
    const redisCalls = [...stats.matchAll(/calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0) - 1;
    await measure('edge hit 100 KiB (Redis, no L1)', edge(rawPort, '/100k'));
    await measure('nginx proxy_cache hit 1 KiB', edge(nginxPort, '/1k'));
    await measure('nginx proxy_cache hit 100 KiB', edge(nginxPort, '/100k'));
    await measure('edge miss 1 KiB (fetch + store)', edge(edgePort, '/'), ['-s', join(ROOT, 'bench', 'miss.lua')]);
    await client.quit();

    const perHit = redisCalls / (results['edge hit 1 KiB (Redis, no L1)']?.requests ?? 1);
    const ratio = (a: string, b: string) => (results[a]?.rps ?? 0) / (results[b]?.rps ?? 1);
    console.log(`\nRedis commands per hit (no L1): ${perHit.toFixed(3)}`);
    console.log(`edge/nginx, 1 KiB hits:   ${ratio('edge hit 1 KiB (L1)', 'nginx proxy_cache hit 1 KiB').toFixed(2)}`);
    console.log(
      `edge/nginx, 100 KiB hits: ${ratio('edge hit 100 KiB (L1)', 'nginx proxy_cache hit 100 KiB').toFixed(2)}`,
    );
    console.log(
      `edge (Redis) / nginx, 1 KiB: ${ratio('edge hit 1 KiB (Redis, no L1)', 'nginx proxy_cache hit 1 KiB').toFixed(2)}`,
    );
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(
      join(ROOT, 'bench', 'results', 'latest.json'),
      `${JSON.stringify({ when: new Date().toISOString(), cores: cpus().length, duration: DURATION, connections: CONNECTIONS, results, redisCommandsPerHit: perHit }, null, 2)}\n`,
    );
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  for (const child of children) child.kill('SIGKILL');
  process.exit(1);
});
