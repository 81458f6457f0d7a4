/**
 * `npm run bench -- chaos`: steady load on the edge (`cachefront serve`, 2 workers) while first
 * the origin and then Redis are killed (SIGKILL) for CHAOS_OUTAGE seconds (default 30) and
 * brought back. Prints, per phase, the share of requests answered 200 for cached objects (stale
 * during the origin outage) and for uncached ones (errors expected then), latency, and the time to
 * recover after each restart.
 *
 * Load: CHAOS_CONCURRENCY (default 32) closed-loop clients; 80 % of requests for 200 cached
 * objects (max-age=5, so they are stale within seconds of the origin going), 20 % for new URLs.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalRedis, startLocalRedis } from '../src/redis/local-server.js';

const ROOT = join(import.meta.dirname, '..');
const OUTAGE_S = Number(process.env.CHAOS_OUTAGE ?? 30);
const CONCURRENCY = Number(process.env.CHAOS_CONCURRENCY ?? 32);
const HOST = 'chaos.test';
const CACHED = 200;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const ORIGIN_SOURCE = `
import { createServer } from 'node:http';
const body = Buffer.alloc(2048, 'o');
createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=5', 'content-length': body.length });
  res.end(body);
}).listen(Number(process.argv[2]), '127.0.0.1', () => process.send?.('ready'));
`;

interface Sample {
  at: number;
  cached: boolean;
  status: number;
  ms: number;
  cache: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function get(port: number, path: string): Promise<{ status: number; cache: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host: HOST }, agent, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, cache: String(res.headers['x-cache-status'] ?? '') }));
      res.on('error', () => resolve({ status: 0, cache: 'aborted' }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, cache: 'error' }));
    req.end();
  });
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not come up`);
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number;
}

function summarise(name: string, samples: Sample[]): void {
  const line = (label: string, set: Sample[]) => {
    const ok = set.filter((s) => s.status === 200).length;
    const statuses = new Map<string, number>();
    for (const s of set)
      statuses.set(
        `${s.status}${s.cache ? ` ${s.cache}` : ''}`,
        (statuses.get(`${s.status}${s.cache ? ` ${s.cache}` : ''}`) ?? 0) + 1,
      );
    const top = [...statuses]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ');
    const ms = set.map((s) => s.ms);
    console.log(
      `  ${name.padEnd(16)} ${label.padEnd(9)} ${String(set.length).padStart(7)} req  ` +
        `${((ok / Math.max(1, set.length)) * 100).toFixed(1).padStart(5)} % 200   p50 ${percentile(ms, 0.5).toFixed(1).padStart(6)} ms  ` +
        `p99 ${percentile(ms, 0.99).toFixed(1).padStart(7)} ms   ${top}`,
    );
  };
  line(
    'cached',
    samples.filter((s) => s.cached),
  );
  line(
    'uncached',
    samples.filter((s) => !s.cached),
  );
}

/** Seconds from `from` until the first whole second in which uncached requests all succeeded again. */
function recovery(samples: Sample[], from: number): number | undefined {
  const after = samples.filter((s) => s.at >= from && !s.cached);
  for (let t = from; t < from + 60_000; t += 250) {
    const window = after.filter((s) => s.at >= t && s.at < t + 1000);
    if (window.length > 0 && window.every((s) => s.status === 200)) return (t - from) / 1000;
  }
  return undefined;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cachefront-chaos-'));
  const children: ChildProcess[] = [];
  let redis: LocalRedis = await startLocalRedis();
  const redisPort = redis.port;
  const [originPort, edgePort, adminPort] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(join(dir, 'origin.mjs'), ORIGIN_SOURCE);
  const startOrigin = async () => {
    const child = fork(join(dir, 'origin.mjs'), [String(originPort)], { stdio: 'ignore' });
    await new Promise((r) => child.once('message', r));
    return child;
  };
  let origin = await startOrigin();
  writeFileSync(
    join(dir, 'edge.yaml'),
    [
      `edge: { listen: { host: 127.0.0.1, port: ${edgePort} }, workers: 2 }`,
      `admin: { listen: { port: ${adminPort} } }`,
      `redis: { url: "${redis.url}" }`,
      'services:',
      `  - id: chaos`,
      `    hosts: [${HOST}]`,
      `    origin: { url: "http://127.0.0.1:${originPort}", connectTimeoutMs: 1s, responseTimeoutMs: 2s }`,
    ].join('\n'),
  );
  const edge = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'cachefront.mjs'), 'serve', '--config', join(dir, 'edge.yaml')],
    {
      env: { ...process.env, REDIS_URL: redis.url, LOG_LEVEL: 'error' },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  children.push(edge);
  try {
    await waitFor(async () => (await get(adminPort, '/readyz')).status === 200, 'the edge');
    for (let i = 0; i < CACHED; i++) await get(edgePort, `/c/${i}`);

    const samples: Sample[] = [];
    let running = true;
    let unique = 0;
    const t0 = Date.now();
    const loops = Array.from({ length: CONCURRENCY }, async (_, w) => {
      let i = w;
      while (running) {
        i = (i * 1_103_515_245 + 12_345) % 2 ** 31;
        const cached = i % 10 < 8;
        const path = cached ? `/c/${i % CACHED}` : `/u/${unique++}`;
        const started = performance.now();
        const { status, cache } = await get(edgePort, path);
        samples.push({ at: Date.now() - t0, cached, status, ms: performance.now() - started, cache });
      }
    });
    const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));
    const mark = () => Date.now() - t0;

    console.log(
      `\nchaos: ${CONCURRENCY} clients, ${OUTAGE_S} s outages, edge with 2 workers, ${cpus().length} cores\n` +
        '  phase            requests   count      200 share   latency                  most frequent answers (status x-cache-status)',
    );
    await sleep(8);
    const originDown = mark();
    origin.kill('SIGKILL');
    await sleep(OUTAGE_S);
    const originUp = mark();
    origin = await startOrigin();
    await sleep(15);
    const redisDown = mark();
    redis.process.kill('SIGKILL');
    await sleep(OUTAGE_S);
    const redisUp = mark();
    await redis.stop();
    redis = await startLocalRedis({ port: redisPort });
    await sleep(15);
    const end = mark();
    running = false;
    await Promise.all(loops);

    const between = (a: number, b: number) => samples.filter((s) => s.at >= a && s.at < b);
    summarise('steady', between(0, originDown));
    summarise('origin down', between(originDown, originUp));
    summarise('origin back', between(originUp, redisDown));
    summarise('redis down', between(redisDown, redisUp));
    summarise('redis back', between(redisUp, end));
    const originRecovery = recovery(samples, originUp);
    const redisRecovery = recovery(samples, redisUp);
    console.log(
      `\n  recovery after the origin returned: ${originRecovery === undefined ? 'not within 60 s' : `${originRecovery.toFixed(2)} s`}` +
        ` (first second in which every uncached request succeeded)`,
    );
    console.log(
      `  recovery after Redis returned:      ${redisRecovery === undefined ? 'not within 60 s' : `${redisRecovery.toFixed(2)} s`}`,
    );
    const redisBack = between(redisUp + 5000, end).filter((s) => s.cached);
    console.log(
      `  cached hits 5 s after Redis returned: ${((redisBack.filter((s) => s.cache === 'Hit').length / Math.max(1, redisBack.length)) * 100).toFixed(1)} % Hit`,
    );
    const unanswered = samples.filter((s) => s.status === 0).length;
    console.log(`  requests without an answer (connection error, timeout): ${unanswered} of ${samples.length}`);
  } finally {
    edge.kill('SIGTERM');
    origin.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
    agent.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
