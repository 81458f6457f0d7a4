/**
 * `npm run bench -- gc`: what the request path leaves to V8's garbage collector. One edge worker
 * (`cachefront serve --workers 1`, default config, a local redis-server) runs with
 * `--trace-gc --trace-gc-nvp` under wrk, first on 1 KiB hits, then on misses (every request a new
 * URL); the bench prints, per workload, the scavenges, the bytes each promoted to old space (per
 * scavenge and per request) and the full mark-compacts. A request's objects should die young:
 * bytes promoted per request growing, or mark-compacts under plain hits, mean something keeps
 * per-request objects alive (a hidden class per object, a closure held by a long-lived map…).
 * BENCH_DURATION (seconds per workload, default 8), BENCH_CONNECTIONS (default 64).
 */

import { fork, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalRedis } from '../src/redis/local-server.js';
import { freePort, type Leftovers, runBenchmark, waitUntilUp, wrk } from './lib.js';

const ROOT = join(import.meta.dirname, '..');
const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const HOST = 'bench.test';
const left: Leftovers = { children: [] };

interface GcLine {
  kind: string;
  promoted: number;
}

/** The --trace-gc-nvp lines of a trace: the collector (s: scavenge, mc: mark-compact…) and bytes promoted. */
function gcLines(text: string): GcLine[] {
  const lines: GcLine[] = [];
  for (const line of text.split('\n')) {
    const kind = / gc=(\w+)/.exec(line)?.[1];
    if (!kind) continue;
    lines.push({ kind, promoted: Number(/ promoted=(\d+)/.exec(line)?.[1] ?? 0) });
  }
  return lines;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cachefront-gc-'));
  left.dir = dir;
  const redis = await startLocalRedis();
  left.redis = redis;
  const [originPort, edgePort, adminPort, metricsPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  left.children.push(fork(join(ROOT, 'bench', 'origin.mjs'), [String(originPort)], { stdio: 'ignore' }));
  const config = join(dir, 'edge.yaml');
  writeFileSync(
    config,
    [
      `edge: { listen: { host: 127.0.0.1, port: ${edgePort} }, workers: 1, accessLog: false }`,
      `admin: { listen: { host: 127.0.0.1, port: ${adminPort} } }`,
      `metrics: { listen: { host: 127.0.0.1, port: ${metricsPort} } }`,
      `redis: { url: "${redis.url}" }`,
      'services:',
      '  - id: bench',
      `    hosts: [${HOST}]`,
      `    origin: { url: "http://127.0.0.1:${originPort}" }`,
    ].join('\n'),
  );
  const traceFile = join(dir, 'gc.log');
  const trace = openSync(traceFile, 'w');
  // One worker: serve runs the edge in its own process, where the flags apply.
  left.children.push(
    spawn(
      process.execPath,
      ['--trace-gc', '--trace-gc-nvp', join(ROOT, 'bin', 'cachefront.mjs'), 'serve', '--config', config],
      { env: { ...process.env, LOG_LEVEL: 'error', REDIS_URL: redis.url }, stdio: ['ignore', trace, 'inherit'] },
    ),
  );
  await waitUntilUp(`http://127.0.0.1:${adminPort}/readyz`);
  await waitUntilUp(`http://127.0.0.1:${edgePort}/1k`, { host: HOST });
  const edge = `http://127.0.0.1:${edgePort}`;
  console.log(`one worker, wrk -t2 -c${CONNECTIONS} -d${DURATION}s\n`);
  console.log(
    `${'workload'.padEnd(28)} ${'req/s'.padStart(8)} ${'scavenges'.padStart(10)} ${'KB promoted/scavenge'.padStart(21)} ${'B promoted/request'.padStart(19)} ${'mark-compacts'.padStart(14)}`,
  );
  const workloads = [
    { name: '1 KiB hit', path: '/1k', extra: [] as string[] },
    {
      name: 'miss (new URL, 1 KiB HTML)',
      path: `/miss/gc-${Date.now()}/`,
      extra: ['-s', join(ROOT, 'bench', 'miss.lua')],
    },
  ];
  for (const workload of workloads) {
    const before = gcLines(readFileSync(traceFile, 'utf8')).length;
    const result = await wrk(`${edge}${workload.path}`, {
      host: HOST,
      connections: CONNECTIONS,
      seconds: DURATION,
      extra: workload.extra,
    });
    const during = gcLines(readFileSync(traceFile, 'utf8')).slice(before);
    const scavenges = during.filter((line) => line.kind === 's');
    const promoted = scavenges.reduce((sum, line) => sum + line.promoted, 0);
    const markCompacts = during.filter((line) => line.kind === 'mc').length;
    console.log(
      `${workload.name.padEnd(28)} ${result.rps.toFixed(0).padStart(8)} ${String(scavenges.length).padStart(10)} ${(promoted / Math.max(1, scavenges.length) / 1024).toFixed(0).padStart(21)} ${(promoted / Math.max(1, result.requests)).toFixed(0).padStart(19)} ${String(markCompacts).padStart(14)}`,
    );
  }
  closeSync(trace);
}

runBenchmark(main, left);
