/**
 * `npm run bench -- soak`: `cachefront serve` (2 workers, default L1, access log off) under SOAK_MINUTES
 * (default 10) of mixed traffic — cold URLs, hot URLs, 2 MiB bodies and 12 MiB ones (too large to
 * store), a purge of the hot set every 30 s, an origin that fails for 20 s of every 2 minutes (503s
 * and resets), and Redis killed and restarted once halfway — sampled every 10 s: RSS, heap and file
 * descriptors of each process, and the edge's sockets to the origin and to Redis. Prints the table,
 * each worker's RSS slope over the last 8 minutes, and the requests that failed or hung (wrk).
 * SOAK_LARGE=0 runs the same without the large bodies; SOAK_WORKER_HEAP=<bytes> sets edge.workerHeapBytes.
 */
import { type ChildProcess, execFile, fork } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startLocalRedis } from '../src/redis/local-server.js';
import { freePort, get, type Leftovers, runBenchmark, startServe, waitUntilUp } from './lib.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const MINUTES = Number(process.env.SOAK_MINUTES ?? 10);
const SAMPLE_MS = 10_000;
const HOST = 'soak.test';
const TOKEN = 'soak-operator-token-0123456789';
const children: ChildProcess[] = [];
const left: Leftovers = { children };

/** SOAK_LARGE=0 leaves out the 2 MiB and 12 MiB bodies (to tell their share of the memory apart). */
const LARGE = process.env.SOAK_LARGE !== '0';
/** SOAK_WORKER_HEAP (bytes) sets edge.workerHeapBytes, to see what V8's heap limit does to the RSS. */
const WORKER_HEAP = process.env.SOAK_WORKER_HEAP;

const SCRIPT = `
counter = 0
request = function()
  counter = counter + 1
  local r = math.random(1, ${LARGE ? 1000 : 950})
  local path
  if r <= 600 then path = "/cold/" .. math.random(1, 1000000000)
  elseif r <= 950 then path = "/hot/" .. math.random(0, 199)
  elseif r <= 995 then path = "/large/" .. math.random(0, 49)
  else path = "/huge/" .. math.random(0, 9) end
  return wrk.format("GET", path)
end
`;

/** VmRSS of a process, in MiB. */
function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

function fds(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/fd`).map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    });
  } catch {
    return [];
  }
}

/** Established TCP connections of these processes to a local port (from /proc/net/tcp and the fds). */
function socketsTo(pids: number[], port: number): number {
  const inodes = new Set(pids.flatMap((pid) => fds(pid).flatMap((link) => /^socket:\[(\d+)\]$/.exec(link)?.[1] ?? [])));
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let table = '';
    try {
      table = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of table.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const remotePort = Number.parseInt((cols[2] ?? '').split(':')[1] ?? '', 16);
      if (remotePort === port && cols[3] === '01' && inodes.has(cols[9] as string)) n++;
    }
  }
  return n;
}

async function heapByPid(metricsPort: number): Promise<Map<number, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const heap = new Map<number, number>();
  for (const m of text.matchAll(/cachefront_process_memory_bytes\{pid="(\d+)",kind="heap_used"\} (\d+)/g)) {
    heap.set(Number(m[1]), Number(m[2]) / 1024 / 1024);
  }
  return heap;
}

/** Where each worker's memory sits, from the edge's own gauges: V8's figures and its bounded structures. */
async function breakdown(metricsPort: number, pid: number): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const mib = (pattern: RegExp) => {
    const value = pattern.exec(text)?.[1];
    return value === undefined ? '-' : (Number(value) / 1024 / 1024).toFixed(0);
  };
  const usage = (kind: string) =>
    mib(new RegExp(`cachefront_process_memory_bytes\\{pid="${pid}",kind="${kind}"\\} (\\d+)`));
  const bounded = [
    ...text.matchAll(
      new RegExp(`cachefront_bounded_bytes\\{pid="${pid}",structure="([^"]+)",kind="used"\\} (\\d+)`, 'g'),
    ),
  ];
  const l1 = bounded.find((m) => m[1] === 'l1')?.[2];
  const memos = bounded.filter((m) => m[1] !== 'l1').reduce((n, m) => n + Number(m[2]), 0);
  return `heap total ${usage('heap_total')}, heap used ${usage('heap_used')}, external ${usage('external')} (array buffers ${usage('array_buffers')}); L1 holds ${l1 === undefined ? '-' : (Number(l1) / 1024 / 1024).toFixed(0)}, memos ${(memos / 1024 / 1024).toFixed(1)} MiB`;
}

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const num = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const den = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cachefront-soak-'));
  left.dir = dir;
  writeFileSync(join(dir, 'soak.lua'), SCRIPT);
  let redis = await startLocalRedis();
  const redisPort = redis.port;
  const [originPort, edgePort, adminPort, metricsPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const origin = fork(join(ROOT, 'bench', 'soak-origin.mjs'), [String(originPort)], { stdio: 'ignore' });
  children.push(origin);
  const config = join(dir, 'soak.yaml');
  writeFileSync(
    config,
    [
      `edge: { listen: { host: 127.0.0.1, port: ${edgePort} }, workers: 2, accessLog: false${WORKER_HEAP ? `, workerHeapBytes: ${WORKER_HEAP}` : ''} }`,
      `admin: { listen: { host: 127.0.0.1, port: ${adminPort} }, tokens: { operator: [${TOKEN}] } }`,
      `metrics: { listen: { host: 127.0.0.1, port: ${metricsPort} } }`,
      `redis: { url: "${redis.url}" }`,
      'services:',
      '  - id: soak',
      `    hosts: [${HOST}]`,
      `    origin: { url: "http://127.0.0.1:${originPort}", circuitBreaker: { failures: 20, cooldownMs: 2s } }`,
    ].join('\n'),
  );
  const edge = startServe(config);
  children.push(edge);
  try {
    await waitUntilUp(`http://127.0.0.1:${adminPort}/readyz`);
    await waitUntilUp(`http://127.0.0.1:${originPort}/__fail/off`);
    const workers = (await run('pgrep', ['-P', String(edge.pid)])).stdout.trim().split('\n').map(Number);
    const pids = [edge.pid as number, ...workers];
    const seconds = MINUTES * 60;
    console.log(`\nsoak: ${MINUTES} min of wrk -t2 -c32 on ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'})`);
    console.log(`primary ${pids[0]}, workers ${workers.join(', ')}\n`);
    const load = run(
      'wrk',
      [
        '-t2',
        '-c32',
        `-d${seconds}s`,
        '--timeout',
        '30s',
        '-H',
        `Host: ${HOST}`,
        '-s',
        join(dir, 'soak.lua'),
        `http://127.0.0.1:${edgePort}/`,
      ],
      { maxBuffer: 1 << 20 },
    );
    const started = Date.now();
    const rows: { t: number; rss: number[]; heap: number[]; fds: number[]; origin: number; redis: number }[] = [];
    let restarted = false;
    console.log(
      `${'time'.padStart(6)}  ${pids.map((_p, i) => `${i === 0 ? 'primary' : `worker ${i}`} RSS/heap MiB`.padStart(24)).join('')}   fds ${' '.repeat(8)} origin redis  events`,
    );
    for (let t = 0; t <= seconds; t += SAMPLE_MS / 1000) {
      const wait = started + t * 1000 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const events: string[] = [];
      // The origin fails for 20 s of every 120 s.
      if (t % 120 === 60) {
        await get(`http://127.0.0.1:${originPort}/__fail/on`);
        events.push('origin failing');
      }
      if (t % 120 === 80) {
        await get(`http://127.0.0.1:${originPort}/__fail/off`);
        events.push('origin back');
      }
      if (t % 30 === 0 && t > 0) {
        await fetch(`http://127.0.0.1:${adminPort}/v1/services/soak/purge`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ filter: { prefix: '/hot/' } }),
        }).catch(() => undefined);
        events.push('purge /hot/');
      }
      if (!restarted && t >= seconds / 2) {
        restarted = true;
        redis.process.kill('SIGKILL');
        await new Promise((r) => redis.process.once('exit', r));
        await redis.stop();
        redis = await startLocalRedis({ port: redisPort });
        events.push('redis restarted');
      }
      const heap = await heapByPid(metricsPort).catch(() => new Map<number, number>());
      const row = {
        t,
        rss: pids.map(rssMiB),
        heap: pids.map((pid) => heap.get(pid) ?? Number.NaN),
        fds: pids.map((pid) => fds(pid).length),
        origin: socketsTo(workers, originPort),
        redis: socketsTo(pids, redisPort),
      };
      rows.push(row);
      console.log(
        `${String(t).padStart(5)}s  ${row.rss.map((r, i) => `${r.toFixed(0)}/${Number.isNaN(row.heap[i] as number) ? '-' : (row.heap[i] as number).toFixed(0)}`.padStart(24)).join('')}   ${row.fds.join('/').padEnd(12)} ${String(row.origin).padStart(6)} ${String(row.redis).padStart(5)}  ${events.join(', ')}`,
      );
    }
    const where = await Promise.all(workers.map((pid) => breakdown(metricsPort, pid).catch(() => 'unavailable')));
    const { stdout } = await load;
    const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
    const errors = /Socket errors:.*/.exec(stdout)?.[0] ?? 'Socket errors: none';
    const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? '0';
    const timeouts = Number(/timeout (\d+)/.exec(errors)?.[1] ?? 0);
    console.log(`\nrequests ${requests}; non-2xx/3xx ${non2xx} (origin failing with no stale copy); ${errors}`);
    console.log(`hung (no answer within 30 s): ${timeouts}`);
    const lastEight = rows.filter((r) => r.t >= Math.max(60, seconds - 480));
    workers.forEach((pid, i) => {
      const points = lastEight.map((r): [number, number] => [r.t / 60, r.rss[i + 1] as number]);
      const max = Math.max(...rows.map((r) => r.rss[i + 1] as number));
      console.log(
        `worker ${i + 1} (${pid}): max RSS ${max.toFixed(0)} MiB (target ≤ 150 + 64 L1 = 214), slope over the last 8 min ${slope(points).toFixed(2)} MiB/min (target < 1)`,
      );
    });
    for (const [i, line] of where.entries()) console.log(`worker ${i + 1} at the end, MiB: ${line}`);
    const span = (f: (r: (typeof rows)[number]) => number) => {
      const values = rows.slice(1).map(f);
      return `${Math.min(...values)}–${Math.max(...values)}`;
    };
    console.log(
      `fds per worker ${workers.map((_, i) => span((r) => r.fds[i + 1] as number)).join(', ')}; sockets to the origin ${span((r) => r.origin)}, to Redis ${span((r) => r.redis)}`,
    );
  } finally {
    left.redis = redis;
  }
}

runBenchmark(main, left);
