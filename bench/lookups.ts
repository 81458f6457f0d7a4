/**
 * `npm run bench -- lookups`: how many cache hits a saturated machine turns into origin fetches
 * because a lookup gave up on Redis. The edge (`cachefront serve`, 2 workers, no L1, so every hit
 * reads Redis) is primed with LOOKUPS_URLS cached objects, then wrk drives LOOKUPS_CONNECTIONS
 * connections at random ones for LOOKUPS_DURATION seconds, with Redis, the origin and wrk on the same
 * two cores. Every request should be a hit; each origin request during the run is a lookup that
 * gave up. Runs the adaptive read deadline (default) and a fixed 50 ms one, first on the saturated
 * machine, then with Redis also kept busy by LOOKUPS_SPIN_MS-long scripts (default 40).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startLocalRedis } from '../src/redis/local-server.js';
import { freePort, get, type Leftovers, runBenchmark, startServe, waitUntilUp, wrk } from './lib.js';

const ROOT = join(import.meta.dirname, '..');
const URLS = Number(process.env.LOOKUPS_URLS ?? 2000);
const DURATION = Number(process.env.LOOKUPS_DURATION ?? 15);
const CONNECTIONS = Number(process.env.LOOKUPS_CONNECTIONS ?? 256);
const HOST = 'lookups.test';
const TOKEN = 'bench-operator-token-0123456789';
const SPIN_MS = Number(process.env.LOOKUPS_SPIN_MS ?? 40);
const children: ChildProcess[] = [];
const left: Leftovers = { children };

const SCRIPT = `
request = function()
  return wrk.format("GET", "/1k?n=" .. math.random(0, ${URLS - 1}))
end
`;

async function originCount(port: number): Promise<number> {
  return Number(await (await fetch(`http://127.0.0.1:${port}/__requests`)).text());
}

/**
 * Keeps Redis busy the way a heavy script does (a big purge, a slow Lua call): SPIN_MS of work,
 * then a short gap, over and over, so reads queue behind it.
 */
function slowRedis(url: string, spinMs: number): () => Promise<void> {
  const client = new Redis(url);
  let running = true;
  const spin = `local t = redis.call('TIME') local s = t[1] * 1000000 + t[2]
    repeat local n = redis.call('TIME') until (n[1] * 1000000 + n[2]) - s > ${spinMs * 1000}`;
  const loop = (async () => {
    while (running) {
      await client.eval(spin, 0);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return async () => {
    running = false;
    await loop;
    client.disconnect();
  };
}

async function measure(
  name: string,
  redis: string,
  redisSettings: string,
  originPort: number,
  dir: string,
  spinMs = 0,
) {
  const [edgePort, adminPort, metricsPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `edge: { listen: { host: 127.0.0.1, port: ${edgePort} }, workers: 2, accessLog: false }`,
      `admin: { listen: { host: 127.0.0.1, port: ${adminPort} }, tokens: { operator: [${TOKEN}] } }`,
      `metrics: { listen: { host: 127.0.0.1, port: ${metricsPort} } }`,
      `redis: { url: "${redis}"${redisSettings} }`,
      'l1: { maxBytes: 0 }',
      'services:',
      `  - id: ${name}`,
      `    hosts: [${HOST}]`,
      `    origin: { url: "http://127.0.0.1:${originPort}", maxConnections: 256 }`,
      '    cache: { maxObjects: 1000000 }',
    ].join('\n'),
  );
  const edge = startServe(file);
  children.push(edge);
  try {
    await waitUntilUp(`http://127.0.0.1:${adminPort}/readyz`);
    for (let n = 0; n < URLS; n++) {
      const status = await get(`http://127.0.0.1:${edgePort}/1k?n=${n}`, { host: HOST });
      if (status !== 200) throw new Error(`priming got ${status}`);
    }
    const before = await originCount(originPort);
    const stopSpinning = spinMs > 0 ? slowRedis(redis, spinMs) : undefined;
    const result = await wrk(`http://127.0.0.1:${edgePort}/`, {
      host: HOST,
      connections: CONNECTIONS,
      seconds: DURATION,
      extra: ['-s', join(dir, 'lookups.lua')],
    });
    await stopSpinning?.();
    const fetched = (await originCount(originPort)) - before;
    const stats = (await (
      await fetch(`http://127.0.0.1:${adminPort}/v1/services/${name}/stats`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      })
    ).json()) as { storeTimeouts: number; storeErrors: number; misses: number; hits: number; entries: number };
    const share = (100 * fetched) / result.requests;
    console.log(
      `${name.padEnd(22)} ${result.requests.toString().padStart(8)} requests  ${result.rps.toFixed(0).padStart(6)} req/s  p99 ${result.p99ms.toFixed(1).padStart(6)} ms  ` +
        `origin fetches ${fetched.toString().padStart(6)} (${share.toFixed(3)} % of hits)  storeTimeouts ${stats.storeTimeouts}` +
        `  [entries ${stats.entries} hits ${stats.hits} misses ${stats.misses} storeErrors ${stats.storeErrors}${result.errors ? `; ${result.errors}` : ''}]`,
    );
    return share;
  } finally {
    edge.kill('SIGTERM');
    await new Promise((resolve) => edge.once('exit', resolve));
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cachefront-lookups-'));
  left.dir = dir;
  writeFileSync(join(dir, 'lookups.lua'), SCRIPT);
  const redis = await startLocalRedis();
  const originPort = await freePort();
  try {
    const origin = fork(join(ROOT, 'bench', 'origin.mjs'), [String(originPort)], { stdio: 'ignore' });
    children.push(origin);
    await waitUntilUp(`http://127.0.0.1:${originPort}/__requests`);
    console.log(
      `\nwrk -t2 -c${CONNECTIONS} -d${DURATION}s over ${URLS} cached URLs, no L1, on ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'})\n`,
    );
    // Fresh service ids per run, so each starts from an empty cache.
    const fixed = ', readTimeoutMs: 50, readTimeoutMaxMs: 50';
    console.log('a saturated machine:');
    await measure('adaptive', redis.url, '', originPort, dir);
    await measure('fixed-50ms', redis.url, fixed, originPort, dir);
    console.log(`\nand Redis busy with ${SPIN_MS} ms scripts, 10 ms apart (a heavy purge, a slow Lua call):`);
    await measure('adaptive-busy-redis', redis.url, '', originPort, dir, SPIN_MS);
    await measure('fixed-50ms-busy-redis', redis.url, fixed, originPort, dir, SPIN_MS);
  } finally {
    left.redis = redis;
  }
}

runBenchmark(main, left);
