/**
 * `npm run bench -- hits`: cachefront beside nginx and Varnish in one interleaved run, on this
 * machine, against the same origin (bench/origin.mjs).
 *
 * Systems: cachefront serve (2 workers, default config, access log off, a local redis-server),
 * the same with its L1 off (every hit read from Redis), the same with its access log on (a JSON
 * line per request into a file; 1 KiB hits only), the same with the Redis commands of a turn
 * written together (redis.autoPipelining on; misses only), nginx with the production settings of
 * bench/nginx.conf.template, Varnish with `-s malloc`, and, as the ceiling of a Node server here, a
 * bare node:http server with 2 workers (bench/bare-node.mjs; 1 KiB hits only). Workloads: a 1 KiB hit, a 100 KiB hit,
 * and a miss (every request a new URL of a 1 KiB HTML page, counted at the origin). Each
 * repetition runs every workload on every system, the systems' order rotated from one repetition
 * to the next; ratios are the median of the per-repetition ratios. Beside requests/s and latency
 * it prints each system's CPU per request (its processes' user + system time over the run, Redis
 * included for cachefront, from /proc) and, at the end, the resident memory of each system.
 *
 * BENCH_DURATION (seconds per run, default 8), BENCH_CONNECTIONS (default 64), BENCH_REPS
 * (default 3), BENCH_WORKLOADS (comma-separated words: runs only the workloads whose names contain
 * one, e.g. "miss"). Results also go to bench/results/latest.json.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalRedis } from '../src/redis/local-server.js';
import {
  cpuSeconds,
  freePort,
  get,
  type Leftovers,
  processTree,
  rssMiB,
  runBenchmark,
  startNginx,
  startServe,
  type WrkResult,
  waitUntilUp,
  wrk,
} from './lib.js';

const ROOT = join(import.meta.dirname, '..');
const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const HOST = 'bench.test';
const left: Leftovers = { children: [] };

interface System {
  name: string;
  port: number;
  /** The processes whose CPU and memory count as the system's. */
  pids: () => number[];
}

interface Workload {
  name: string;
  path: (run: number) => string;
  script?: string;
  /** Systems measured on it (all by default). */
  only?: string[];
}

interface Sample extends WrkResult {
  cpuMicrosPerRequest: number;
  originPerSecond?: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

function edgeConfig(
  dir: string,
  name: string,
  port: number,
  admin: number,
  metrics: number,
  origin: number,
  l1: boolean,
  accessLog = false,
  /** More top-level lines (a redis section, say). */
  extra: readonly string[] = [],
) {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `edge: { listen: { host: 127.0.0.1, port: ${port} }, workers: 2, accessLog: ${accessLog} }`,
      `admin: { listen: { host: 127.0.0.1, port: ${admin} } }`,
      `metrics: { listen: { host: 127.0.0.1, port: ${metrics} } }`,
      ...(l1 ? [] : ['l1: { maxBytes: 0 }']),
      ...extra,
      'services:',
      '  - id: bench',
      `    hosts: [${HOST}]`,
      `    origin: { url: "http://127.0.0.1:${origin}" }`,
    ].join('\n'),
  );
  return file;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cachefront-bench-'));
  // varnishd reads its VCL and keeps its work directory as its own unprivileged user.
  chmodSync(dir, 0o755);
  left.dir = dir;
  const redis = await startLocalRedis();
  left.redis = redis;
  const ports = await Promise.all(Array.from({ length: 13 }, freePort));
  const [
    originPort,
    edgePort,
    edgeAdmin,
    edgeMetrics,
    rawPort,
    rawAdmin,
    rawMetrics,
    nginxPort,
    varnishPort,
    barePort,
    logPort,
    logAdmin,
    logMetrics,
  ] = ports as [number, number, number, number, number, number, number, number, number, number, number, number, number];
  const [pipelinedPort, pipelinedAdmin, pipelinedMetrics] = (await Promise.all([
    freePort(),
    freePort(),
    freePort(),
  ])) as [number, number, number];

  const origin = fork(join(ROOT, 'bench', 'origin.mjs'), [String(originPort)], { stdio: 'ignore' });
  left.children.push(origin);
  const redisPid = redis.process.pid as number;
  const started = (child: ChildProcess) => {
    left.children.push(child);
    return child.pid as number;
  };
  const edgePid = started(
    startServe(edgeConfig(dir, 'edge', edgePort, edgeAdmin, edgeMetrics, originPort, true), { REDIS_URL: redis.url }),
  );
  const rawPid = started(
    startServe(edgeConfig(dir, 'edge-no-l1', rawPort, rawAdmin, rawMetrics, originPort, false), {
      REDIS_URL: redis.url,
    }),
  );
  // The commands of a turn written to Redis together (redis.autoPipelining; misses only).
  const pipelinedPid = started(
    startServe(
      edgeConfig(dir, 'edge-pipelined', pipelinedPort, pipelinedAdmin, pipelinedMetrics, originPort, true, false, [
        'redis: { autoPipelining: true }',
      ]),
      { REDIS_URL: redis.url },
    ),
  );
  // The access log on, written where an operator's would go: a file (each line an info log line).
  const logFile = openSync(join(dir, 'access.log'), 'a');
  const loggingPid = started(
    startServe(
      edgeConfig(dir, 'edge-logging', logPort, logAdmin, logMetrics, originPort, true, true),
      { REDIS_URL: redis.url, LOG_LEVEL: 'info' },
      logFile,
    ),
  );
  const nginxPid = started(
    startNginx('nginx.conf.template', { dir, port: nginxPort, origin: `127.0.0.1:${originPort}` }),
  );
  writeFileSync(
    join(dir, 'varnish.vcl'),
    readFileSync(join(ROOT, 'bench', 'varnish.vcl.template'), 'utf8').replaceAll('__ORIGIN_PORT__', String(originPort)),
  );
  const varnishPid = started(
    spawn(
      'varnishd',
      [
        '-F',
        '-a',
        `127.0.0.1:${varnishPort}`,
        '-f',
        join(dir, 'varnish.vcl'),
        '-s',
        'malloc,256m',
        '-n',
        join(dir, 'varnish'),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    ),
  );

  const barePid = started(fork(join(ROOT, 'bench', 'bare-node.mjs'), [String(barePort)], { stdio: 'ignore' }));

  const systems: System[] = [
    { name: 'cachefront', port: edgePort, pids: () => [...processTree(edgePid), redisPid] },
    { name: 'cachefront, no L1', port: rawPort, pids: () => [...processTree(rawPid), redisPid] },
    { name: 'cachefront, access log', port: logPort, pids: () => [...processTree(loggingPid), redisPid] },
    { name: 'cachefront, pipelined', port: pipelinedPort, pids: () => [...processTree(pipelinedPid), redisPid] },
    { name: 'nginx', port: nginxPort, pids: () => processTree(nginxPid) },
    { name: 'varnish', port: varnishPort, pids: () => processTree(varnishPid) },
    // Not a cache: the ceiling of a Node server on this machine (bench/bare-node.mjs).
    { name: 'node:http, bare', port: barePort, pids: () => processTree(barePid) },
  ];
  const workloads: Workload[] = [
    { name: '1 KiB hit', path: () => '/1k' },
    { name: '100 KiB hit', path: () => '/100k', only: ['cachefront', 'nginx', 'varnish', 'node:http, bare'] },
    {
      name: 'miss (new URL, 1 KiB HTML)',
      path: (run) => `/miss/${run}/`,
      script: join(ROOT, 'bench', 'miss.lua'),
      only: ['cachefront', 'cachefront, no L1', 'cachefront, pipelined', 'nginx', 'varnish'],
    },
  ];

  const wanted = process.env.BENCH_WORKLOADS?.split(',').filter(Boolean);
  if (wanted) workloads.splice(0, workloads.length, ...workloads.filter((w) => wanted.some((x) => w.name.includes(x))));
  const url = (system: System, path: string) => `http://127.0.0.1:${system.port}${path}`;
  await waitUntilUp(`http://127.0.0.1:${originPort}/1k`);
  await waitUntilUp(`http://127.0.0.1:${edgeAdmin}/readyz`);
  await waitUntilUp(`http://127.0.0.1:${rawAdmin}/readyz`);
  await waitUntilUp(`http://127.0.0.1:${logAdmin}/readyz`);
  await waitUntilUp(`http://127.0.0.1:${pipelinedAdmin}/readyz`);
  for (const system of systems) {
    await waitUntilUp(url(system, '/1k'), { host: HOST });
    // Prime: every cache stores on a miss; a few requests leave the hit objects stored everywhere.
    for (const path of ['/1k', '/100k']) for (let i = 0; i < 3; i++) await get(url(system, path), { host: HOST });
    // A short warm-up so JIT and connection pools are settled before measuring.
    await wrk(url(system, '/1k'), { host: HOST, connections: CONNECTIONS, seconds: 2 });
  }
  const originCount = async () => Number(await (await fetch(`http://127.0.0.1:${originPort}/__requests`)).text());

  console.log(
    `\nwrk -t2 -c${CONNECTIONS} -d${DURATION}s, ${REPS} repetitions, systems rotated; ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'})\n`,
  );
  const samples = new Map<string, Sample[]>();
  let run = 0;
  for (let rep = 0; rep < REPS; rep++) {
    for (const workload of workloads) {
      const eligible = systems.filter((s) => !workload.only || workload.only.includes(s.name));
      const order = eligible.map((_, i) => eligible[(i + rep) % eligible.length] as System);
      for (const system of order) {
        run++;
        const pids = system.pids();
        const cpuBefore = pids.reduce((n, pid) => n + cpuSeconds(pid), 0);
        const originBefore = await originCount();
        const result = await wrk(url(system, workload.path(run)), {
          host: HOST,
          connections: CONNECTIONS,
          seconds: DURATION,
          extra: workload.script ? ['-s', workload.script] : [],
        });
        const cpu = pids.reduce((n, pid) => n + cpuSeconds(pid), 0) - cpuBefore;
        const fetched = (await originCount()) - originBefore;
        const sample: Sample = {
          ...result,
          cpuMicrosPerRequest: (cpu * 1e6) / Math.max(1, result.requests),
          ...(workload.script ? { originPerSecond: fetched / DURATION } : {}),
        };
        const key = `${workload.name}|${system.name}`;
        samples.set(key, [...(samples.get(key) ?? []), sample]);
        console.log(
          `rep ${rep + 1}  ${workload.name.padEnd(28)} ${system.name.padEnd(18)} ${sample.rps.toFixed(0).padStart(7)} req/s` +
            `  p99 ${sample.p99ms.toFixed(2).padStart(6)} ms  CPU ${sample.cpuMicrosPerRequest.toFixed(0).padStart(4)} µs/req` +
            (sample.originPerSecond !== undefined ? `  origin ${sample.originPerSecond.toFixed(0)}/s` : '') +
            (sample.errors ? `  (${sample.errors})` : ''),
        );
      }
    }
  }

  // The summary: medians per system, and per-repetition ratios' medians against nginx and Varnish.
  const rate = (s: Sample, workload: Workload) => (workload.script ? (s.originPerSecond ?? 0) : s.rps);
  const ratio = (workload: Workload, a: string, b: string) => {
    const xs = samples.get(`${workload.name}|${a}`) ?? [];
    const ys = samples.get(`${workload.name}|${b}`) ?? [];
    return median(xs.map((x, i) => rate(x, workload) / Math.max(1, rate(ys[i] as Sample, workload))));
  };
  console.log(`\nmedians of ${REPS} repetitions (misses: origin fetches/s, counted at the origin)\n`);
  console.log(
    `${'workload'.padEnd(28)} ${'system'.padEnd(18)} ${'rate/s'.padStart(8)} ${'p99 ms'.padStart(8)} ${'CPU µs/req'.padStart(11)}`,
  );
  const summary: Record<string, unknown> = {};
  for (const workload of workloads) {
    for (const system of systems) {
      const xs = samples.get(`${workload.name}|${system.name}`);
      if (!xs) continue;
      const row = {
        rate: median(xs.map((x) => rate(x, workload))),
        p99ms: median(xs.map((x) => x.p99ms)),
        cpuMicrosPerRequest: median(xs.map((x) => x.cpuMicrosPerRequest)),
      };
      summary[`${workload.name}|${system.name}`] = row;
      console.log(
        `${workload.name.padEnd(28)} ${system.name.padEnd(18)} ${row.rate.toFixed(0).padStart(8)} ${row.p99ms.toFixed(2).padStart(8)} ${row.cpuMicrosPerRequest.toFixed(0).padStart(11)}`,
      );
    }
  }
  console.log('\nratios (median of per-repetition ratios)');
  const ratios: Record<string, number> = {};
  for (const workload of workloads) {
    for (const [a, b] of [
      ['cachefront', 'nginx'],
      ['cachefront', 'varnish'],
      ['cachefront, no L1', 'nginx'],
      ['cachefront', 'node:http, bare'],
      ['cachefront, access log', 'cachefront'],
      ['cachefront, pipelined', 'cachefront'],
    ] as const) {
      if (!samples.has(`${workload.name}|${a}`) || !samples.has(`${workload.name}|${b}`)) continue;
      const value = ratio(workload, a, b);
      ratios[`${workload.name}: ${a} / ${b}`] = value;
      console.log(`  ${`${workload.name}: ${a} / ${b}`.padEnd(60)} ${value.toFixed(2)}`);
    }
  }
  console.log('\nresident memory after the runs (MiB)');
  const memory: Record<string, number> = {};
  for (const system of systems) {
    const pids = system.name.startsWith('cachefront') ? system.pids().filter((p) => p !== redisPid) : system.pids();
    if (system.name === 'node:http, bare') continue;
    const each = pids.map(rssMiB);
    memory[system.name] = each.reduce((a, b) => a + b, 0);
    console.log(
      `  ${system.name.padEnd(18)} ${memory[system.name]?.toFixed(0).padStart(5)}  (${each.map((m) => m.toFixed(0)).join(' + ')})`,
    );
  }
  memory.redis = rssMiB(redisPid);
  console.log(
    `  ${'redis-server'.padEnd(18)} ${memory.redis.toFixed(0).padStart(5)}  (shared by both cachefront systems)`,
  );

  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'bench', 'results', 'latest.json'),
    `${JSON.stringify(
      {
        when: new Date().toISOString(),
        cores: cpus().length,
        duration: DURATION,
        connections: CONNECTIONS,
        reps: REPS,
        summary,
        ratios,
        memory,
        samples: Object.fromEntries(samples),
      },
      null,
      2,
    )}\n`,
  );
}

runBenchmark(main, left);
