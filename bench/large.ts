/**
 * `npm run bench -- large`: large objects stored in chunks (docs/large-objects.md), with a local
 * redis-server, `cachefront serve` (one process, so its memory is one number), nginx with the
 * production proxy_cache settings of bench/nginx.conf.template, and bench/large-origin.mjs:
 *   1. chunk sizes: Redis GET throughput and latency for 256 KiB to 4 MiB values (the choice of
 *      cache.chunks.chunkBytes);
 *   2. a 1 GiB object through the edge (a miss, stored in chunks as it streams): the edge's peak
 *      RSS over its RSS before (target: under 64 MiB);
 *   3. the hit's time to first byte for that object, one request at a time on an idle edge
 *      (target: under 10 ms);
 *   4. 100 MiB hits, 4 clients at once, beside nginx in the same run (target: at least 0.5×);
 *   5. a 1 MiB range in the middle of a 512 MiB object: the bytes Redis sends for it.
 * BENCH_GIB (the large object, default 1), BENCH_REPS (default 3).
 */
import { fork } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { type Agent, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startLocalRedis } from '../src/redis/local-server.js';
import { freePort, type Leftovers, rssMiB, runBenchmark, startNginx, startServe, waitUntilUp } from './lib.js';

const ROOT = join(import.meta.dirname, '..');
const MIB = 1024 * 1024;
const HOST = 'artefacts.test';
const LARGE = Number(process.env.BENCH_GIB ?? 1) * 1024 * MIB;
const REPS = Number(process.env.BENCH_REPS ?? 3);
const left: Leftovers = { children: [] };

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))] as number;

interface Download {
  status: number;
  bytes: number;
  /** From the request to the response head. */
  headMs: number;
  /** From the request to the first body byte. */
  firstByteMs: number;
  ms: number;
  cacheStatus: string;
}

/** One GET, its body counted and dropped; `stopAfterFirstByte` ends it at its first byte. */
function download(
  url: string,
  options: { headers?: Record<string, string>; stopAfterFirstByte?: boolean; agent?: Agent } = {},
): Promise<Download> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host: HOST, ...options.headers }, agent: options.agent ?? false }, (res) => {
      const headMs = performance.now() - started;
      let bytes = 0;
      let firstByteMs = -1;
      const done = () =>
        resolve({
          status: res.statusCode ?? 0,
          bytes,
          headMs,
          firstByteMs,
          ms: performance.now() - started,
          cacheStatus: String(res.headers['x-cache-status'] ?? ''),
        });
      res.on('data', (chunk: Buffer) => {
        if (firstByteMs < 0) firstByteMs = performance.now() - started;
        bytes += chunk.length;
        if (options.stopAfterFirstByte) {
          req.destroy();
          done();
        }
      });
      res.on('end', done);
      res.on('error', reject);
    });
    req.on('error', (error) => (options.stopAfterFirstByte ? undefined : reject(error)));
    req.end();
  });
}

/** Redis GET of `size`-byte values, 4 at a time for about a second: MB/s and the median latency. */
async function chunkSize(redis: Redis, size: number): Promise<{ mbps: number; p50ms: number }> {
  await redis.set('bench:chunk', Buffer.alloc(size, 7));
  const latencies: number[] = [];
  let bytes = 0;
  const until = performance.now() + 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (performance.now() < until) {
        const at = performance.now();
        const value = await redis.getBuffer('bench:chunk');
        latencies.push(performance.now() - at);
        bytes += value?.length ?? 0;
      }
    }),
  );
  return { mbps: bytes / MIB / ((performance.now() - started) / 1000), p50ms: median(latencies) };
}

/** 4 clients each downloading `path` 3 times: MB/s over all. */
async function throughput(base: string, path: string): Promise<number> {
  const started = performance.now();
  let bytes = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let i = 0; i < 3; i++) bytes += (await download(`${base}${path}`)).bytes;
    }),
  );
  return bytes / MIB / ((performance.now() - started) / 1000);
}

async function bytesOut(redis: Redis): Promise<number> {
  return Number(/total_net_output_bytes:(\d+)/.exec(await redis.info('stats'))?.[1]);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cachefront-bench-large-'));
  left.dir = dir;
  const redisServer = await startLocalRedis();
  left.redis = redisServer;
  const redis = new Redis(redisServer.url);
  const [originPort, edgePort, adminPort, metricsPort, nginxPort] = (await Promise.all(
    Array.from({ length: 5 }, () => freePort()),
  )) as [number, number, number, number, number];
  left.children.push(fork(join(ROOT, 'bench', 'large-origin.mjs'), [String(originPort)], { stdio: 'ignore' }));
  const config = join(dir, 'edge.yaml');
  writeFileSync(
    config,
    [
      'edge:',
      `  listen: { host: 127.0.0.1, port: ${edgePort} }`,
      '  workers: 1',
      '  accessLog: false',
      `admin: { listen: { host: 127.0.0.1, port: ${adminPort} } }`,
      `metrics: { listen: { host: 127.0.0.1, port: ${metricsPort} } }`,
      'services:',
      '  - id: artefacts',
      `    hosts: [${HOST}]`,
      `    origin: { url: "http://127.0.0.1:${originPort}" }`,
      '    cache: { maxObjectBytes: 4gb }',
    ].join('\n'),
  );
  const edge = startServe(config, { REDIS_URL: redisServer.url });
  left.children.push(edge);
  left.children.push(
    // The cache holds the 1 GiB, 512 MiB and 100 MiB objects.
    startNginx('nginx.conf.template', {
      dir,
      port: nginxPort,
      origin: `127.0.0.1:${originPort}`,
      replace: { 'max_size=1g': 'max_size=8g' },
    }),
  );
  const edgeUrl = `http://127.0.0.1:${edgePort}`;
  const nginxUrl = `http://127.0.0.1:${nginxPort}`;
  await waitUntilUp(`http://127.0.0.1:${originPort}/bytes/1`);
  await waitUntilUp(`${edgeUrl}/bytes/1`, { host: HOST });
  await waitUntilUp(`${nginxUrl}/bytes/1`);
  console.log(`\nlarge objects; cache.chunks default (1 MiB chunks past 2 MiB); ${cpus().length} cores\n`);

  console.log('1. chunk size: Redis GET, 4 in flight, one node');
  for (const size of [256 * 1024, 512 * 1024, MIB, 2 * MIB, 4 * MIB]) {
    const { mbps, p50ms } = await chunkSize(redis, size);
    console.log(
      `   ${`${size / 1024} KiB`.padStart(9)}  ${mbps.toFixed(0).padStart(6)} MB/s  p50 ${p50ms.toFixed(2)} ms`,
    );
  }

  const large = `/bytes/${LARGE}`;
  const before = rssMiB(edge.pid as number) * MIB;
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMiB(edge.pid as number) * MIB);
  }, 20);
  const miss = await download(`${edgeUrl}${large}`);
  clearInterval(sampler);
  console.log(
    `\n2. ${LARGE / MIB} MiB miss through the edge: ${miss.cacheStatus}, ${(miss.bytes / MIB).toFixed(0)} MiB in ${(miss.ms / 1000).toFixed(1)} s` +
      ` (${(miss.bytes / MIB / (miss.ms / 1000)).toFixed(0)} MB/s); RSS ${(before / MIB).toFixed(0)} MiB before, peak ${(peak / MIB).toFixed(0)} MiB: grew ${((peak - before) / MIB).toFixed(1)} MiB`,
  );

  // Stored once the fill's last chunk and its record are in.
  for (let i = 0; i < 200; i++) {
    if ((await download(`${edgeUrl}${large}`, { stopAfterFirstByte: true })).cacheStatus === 'Hit') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const ttfb: number[] = [];
  const heads: number[] = [];
  // Each on an idle edge: a request cut at its first byte leaves a chunk or two being read, which
  // the next one would queue behind (a cost of this measurement, not of a client's first byte).
  for (let i = 0; i < 50; i++) {
    const hit = await download(`${edgeUrl}${large}`, { stopAfterFirstByte: true });
    ttfb.push(hit.firstByteMs);
    heads.push(hit.headMs);
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(
    `\n3. hit, time to first byte (${LARGE / MIB} MiB object, 50 requests): p50 ${median(ttfb).toFixed(2)} ms, p99 ${percentile(ttfb, 0.99).toFixed(2)} ms (response head p50 ${median(heads).toFixed(2)} ms)`,
  );

  const hundred = `/bytes/${100 * MIB}`;
  for (const base of [edgeUrl, nginxUrl]) await download(`${base}${hundred}`);
  for (let i = 0; i < 200; i++) {
    if ((await download(`${edgeUrl}${hundred}`, { stopAfterFirstByte: true })).cacheStatus === 'Hit') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log('\n4. 100 MiB hits, 4 clients x 3 downloads each, systems alternated');
  const ratios: number[] = [];
  for (let rep = 1; rep <= REPS; rep++) {
    const order = rep % 2 === 1 ? ['cachefront', 'nginx'] : ['nginx', 'cachefront'];
    const rates = new Map<string, number>();
    for (const system of order) {
      const rate = await throughput(system === 'nginx' ? nginxUrl : edgeUrl, hundred);
      rates.set(system, rate);
      console.log(`   rep ${rep}  ${system.padEnd(10)} ${rate.toFixed(0).padStart(6)} MB/s`);
    }
    ratios.push((rates.get('cachefront') ?? 0) / (rates.get('nginx') ?? 1));
  }
  console.log(`   median cachefront/nginx: ${median(ratios).toFixed(2)}×`);

  const half = `/bytes/${512 * MIB}`;
  await download(`${edgeUrl}${half}`);
  for (let i = 0; i < 200; i++) {
    if ((await download(`${edgeUrl}${half}`, { stopAfterFirstByte: true })).cacheStatus === 'Hit') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const start = 256 * MIB + 12_345;
  // Reads still in flight from the requests above (cut at their first byte) finish first.
  // (INFO's own reply counts too: settled when less than a chunk moved in 200 ms.)
  for (let last = 0, now = await bytesOut(redis); now - last >= MIB; last = now, now = await bytesOut(redis)) {
    await new Promise((r) => setTimeout(r, 200));
  }
  const sentBefore = await bytesOut(redis);
  const range = await download(`${edgeUrl}${half}`, { headers: { range: `bytes=${start}-${start + MIB - 1}` } });
  const sent = (await bytesOut(redis)) - sentBefore;
  console.log(
    `\n5. a 1 MiB range in the middle of a 512 MiB object: ${range.status} ${range.cacheStatus}, ${range.bytes} bytes to the client; Redis sent ${(sent / MIB).toFixed(2)} MiB (the object is 512 MiB)`,
  );
  redis.disconnect();
}

runBenchmark(main, left);
