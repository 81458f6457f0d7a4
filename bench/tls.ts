/**
 * `npm run bench -- tls`: HTTPS beside nginx, one interleaved run, the same certificate (ECDSA
 * P-256, made with openssl) and the same origin (bench/origin.mjs).
 *
 * Systems: cachefront serve (2 workers, access log off, a local redis-server; the certificate as
 * the default one, since the load generators connect to an IP and send no SNI), nginx with TLS
 * as bench/nginx-tls.conf.template configures it, and, as the ceiling of a Node HTTPS server here,
 * a bare node:http2 server answering from memory (bench/bare-node-tls.mjs). Workloads, each over TLS 1.3:
 *   - new connections: h2load with as many clients as requests (1,000 a round, 5 rounds), so every
 *     request is a new TLS connection and a full handshake, over HTTP/1.1 and over HTTP/2;
 *   - 1 KiB hits over HTTP/1.1 with keep-alive: h2load --h1;
 *   - 1 KiB hits over HTTP/2: h2load, 10 streams per connection.
 * Before the first repetition each system serves both hit workloads once, unmeasured (Node's
 * compiler reaches its steady state there; nginx has none to reach). Each repetition runs every
 * workload on every system, their order rotated; ratios are the median of the per-repetition
 * ratios. BENCH_REQUESTS (per hit run, default 120,000), BENCH_CONNECTIONS (for hits, default 64),
 * BENCH_HANDSHAKE_ROUNDS (default 5), BENCH_REPS (default 5).
 */
import { execFile, fork } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MODERN_CIPHERS } from '../src/config/tls.js';
import { startLocalRedis } from '../src/redis/local-server.js';
import { makeCert } from '../test/helpers/certs.js';
import { freePort, type Leftovers, runBenchmark, startNginx, startServe, treeCpuSeconds, waitUntilUp } from './lib.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const REPS = Number(process.env.BENCH_REPS ?? 5);
const HOST = 'bench.test';
/** Requests per h2load run: several seconds of hits on this machine. */
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 120_000);
/** New connections per handshake round (one request each), and rounds per measurement. */
const HANDSHAKE_CLIENTS = 1000;
const HANDSHAKE_ROUNDS = Number(process.env.BENCH_HANDSHAKE_ROUNDS ?? 5);
const left: Leftovers = { children: [] };

interface Result {
  rps: number;
  /** Requests the run completed. */
  requests: number;
  detail: string;
}

/** h2load's own summary: requests/s, and how many failed. */
async function h2load(url: string, h1: boolean): Promise<Result> {
  const { stdout } = await run(
    'h2load',
    [
      '-t2',
      `-c${CONNECTIONS}`,
      // A request count rather than -D (h2load 1.52's -D waits on kept-alive HTTP/1.1 connections).
      `-n${REQUESTS}`,
      ...(h1 ? ['--h1'] : ['-m10']),
      '-H',
      `:authority: ${HOST}`,
      url,
    ],
    { maxBuffer: 1 << 22 },
  );
  const rps = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(stdout)?.[1]);
  const failed = /requests: .*?(\d+) failed/.exec(stdout)?.[1] ?? '?';
  const mean = /time for request:\s+\S+\s+\S+\s+(\S+)/.exec(stdout)?.[1] ?? '?';
  const protocol = /Application protocol: (\S+)/.exec(stdout)?.[1] ?? '?';
  const requests = Number(/requests: .*?(\d+) succeeded/.exec(stdout)?.[1] ?? 0);
  return { rps, requests, detail: `mean ${mean.padStart(8)}  ${protocol}  failed ${failed}` };
}

/**
 * New TLS connections per second: h2load with as many clients as requests, so each request is a
 * new connection and a full TLS 1.3 handshake (no session to resume); several rounds, their totals
 * summed. (wrk with `Connection: close` measures its own cost here: with Node's TLS it spends
 * three times the CPU per connection it spends with nginx's.)
 */
async function handshakes(url: string, h1: boolean): Promise<Result> {
  let done = 0;
  let seconds = 0;
  let failed = 0;
  for (let round = 0; round < HANDSHAKE_ROUNDS; round++) {
    const { stdout } = await run(
      'h2load',
      [
        '-t2',
        `-c${HANDSHAKE_CLIENTS}`,
        `-n${HANDSHAKE_CLIENTS}`,
        ...(h1 ? ['--h1'] : []),
        '-H',
        `:authority: ${HOST}`,
        url,
      ],
      { maxBuffer: 1 << 22 },
    );
    const finished = /finished in ([\d.]+)(ms|s),/.exec(stdout);
    seconds += Number(finished?.[1]) / (finished?.[2] === 'ms' ? 1000 : 1);
    done += Number(/requests: .*?(\d+) succeeded/.exec(stdout)?.[1] ?? 0);
    failed += Number(/requests: .*?(\d+) failed/.exec(stdout)?.[1] ?? 0);
  }
  return {
    rps: done / seconds,
    requests: done,
    detail: `${done} connections in ${seconds.toFixed(2)} s  failed ${failed}`,
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cachefront-bench-tls-'));
  left.dir = dir;
  const cert = makeCert([HOST], { dir });
  const redis = await startLocalRedis();
  left.redis = redis;
  const [originPort, edgePort, tlsPort, adminPort, metricsPort, nginxPort, barePort] = (await Promise.all(
    Array.from({ length: 7 }, () => freePort()),
  )) as [number, number, number, number, number, number, number];
  const origin = fork(join(ROOT, 'bench', 'origin.mjs'), [String(originPort)], { stdio: 'ignore' });
  left.children.push(origin);

  const config = join(dir, 'edge.yaml');
  writeFileSync(
    config,
    [
      `edge:`,
      `  listen: { host: 127.0.0.1, port: ${edgePort} }`,
      '  workers: 2',
      '  accessLog: false',
      `  tls: { listen: { host: 127.0.0.1, port: ${tlsPort} }, defaultCertificate: { cert: "${cert.certFile}", key: "${cert.keyFile}" } }`,
      `admin: { listen: { host: 127.0.0.1, port: ${adminPort} } }`,
      `metrics: { listen: { host: 127.0.0.1, port: ${metricsPort} } }`,
      'services:',
      '  - id: bench',
      `    hosts: [${HOST}]`,
      `    origin: { url: "http://127.0.0.1:${originPort}" }`,
      `    tls: { certificate: { cert: "${cert.certFile}", key: "${cert.keyFile}" } }`,
    ].join('\n'),
  );
  const edge = startServe(config, { REDIS_URL: redis.url });
  left.children.push(edge);
  const nginx = startNginx('nginx-tls.conf.template', {
    dir,
    port: nginxPort,
    origin: `127.0.0.1:${originPort}`,
    replace: { __CERT__: cert.certFile, __KEY__: cert.keyFile, __CIPHERS__: MODERN_CIPHERS },
  });
  left.children.push(nginx);

  const bare = fork(join(ROOT, 'bench', 'bare-node-tls.mjs'), [String(barePort), cert.certFile, cert.keyFile], {
    stdio: 'ignore',
  });
  left.children.push(bare);
  // Each system's process tree, for the CPU it spends per request (cachefront's includes its
  // primary; its redis-server idles on hits the L1 holds).
  const systems = [
    { name: 'cachefront', port: tlsPort, pid: edge.pid as number },
    { name: 'nginx', port: nginxPort, pid: nginx.pid as number },
    // Not a cache: the ceiling of a Node HTTPS server here (bench/bare-node-tls.mjs).
    { name: 'node, bare', port: barePort, pid: bare.pid as number },
  ];
  const url = (port: number) => `https://127.0.0.1:${port}/1k`;
  await waitUntilUp(`http://127.0.0.1:${originPort}/1k`);
  await waitUntilUp(`http://127.0.0.1:${edgePort}/1k`, { host: HOST });
  for (const system of systems) {
    // Up, and the object cached (h2load only counts; its first requests fill).
    await run('h2load', ['-n20', '-c1', '--h1', '-H', `:authority: ${HOST}`, url(system.port)]);
  }
  const workloads = [
    { name: 'new TLS connections/s, HTTP/1.1', measure: (port: number) => handshakes(url(port), true) },
    { name: 'new TLS connections/s, HTTP/2', measure: (port: number) => handshakes(url(port), false) },
    { name: '1 KiB hits, HTTP/1.1 keep-alive', measure: (port: number) => h2load(url(port), true) },
    { name: '1 KiB hits, HTTP/2 (10 streams per connection)', measure: (port: number) => h2load(url(port), false) },
  ];
  for (const system of systems) {
    for (const hits of workloads.slice(2)) await hits.measure(system.port);
  }
  console.log(
    `\nTLS 1.3, ECDSA P-256; h2load -t2: connections ${HANDSHAKE_ROUNDS}×${HANDSHAKE_CLIENTS} new, hits -c${CONNECTIONS} -n${REQUESTS}; warmed up, ${REPS} repetitions, systems rotated; ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'})\n`,
  );
  const ratios = new Map<string, number[]>();
  // CPU µs per request, by workload and system, every repetition.
  const cpuPerRequest = new Map<string, number[]>();
  for (let rep = 1; rep <= REPS; rep++) {
    for (const workload of workloads) {
      const order = [...systems.slice(rep % systems.length), ...systems.slice(0, rep % systems.length)];
      const results = new Map<string, Result>();
      for (const system of order) {
        const cpuBefore = treeCpuSeconds(system.pid);
        const result = await workload.measure(system.port);
        const cpuAfter = treeCpuSeconds(system.pid);
        results.set(system.name, result);
        const micros = result.requests === 0 ? undefined : ((cpuAfter - cpuBefore) * 1e6) / result.requests;
        const cpuKey = `${workload.name}\n${system.name}`;
        if (micros !== undefined) cpuPerRequest.set(cpuKey, [...(cpuPerRequest.get(cpuKey) ?? []), micros]);
        const cpu = micros === undefined ? '' : `cpu ${micros.toFixed(0).padStart(4)} µs/req  `;
        console.log(
          `rep ${rep}  ${workload.name.padEnd(50)} ${system.name.padEnd(11)} ${result.rps.toFixed(0).padStart(7)} req/s  ${cpu}${result.detail}`,
        );
      }
      for (const [against, key] of [
        ['nginx', workload.name],
        ['node, bare', `${workload.name} (bare node)`],
      ] as const) {
        const ratio = (results.get('cachefront')?.rps ?? 0) / (results.get(against)?.rps ?? 1);
        ratios.set(key, [...(ratios.get(key) ?? []), ratio]);
      }
    }
  }
  console.log(`\n${'median ratio'.padEnd(52)} cachefront/nginx  cachefront/bare node`);
  for (const workload of workloads) {
    const against = (key: string) => `${median(ratios.get(key) ?? [0]).toFixed(2)}×`;
    console.log(
      `  ${workload.name.padEnd(50)} ${against(workload.name).padStart(16)}  ${against(`${workload.name} (bare node)`).padStart(20)}`,
    );
  }
  console.log(
    `\n${'median CPU per request, µs (the system, not h2load)'.padEnd(52)} ${systems.map((s) => s.name.padStart(11)).join('  ')}`,
  );
  for (const workload of workloads) {
    const cells = systems.map((system) => {
      const values = cpuPerRequest.get(`${workload.name}\n${system.name}`);
      return (values ? median(values).toFixed(0) : '?').padStart(11);
    });
    console.log(`  ${workload.name.padEnd(50)} ${cells.join('  ')}`);
  }
}

runBenchmark(main, left);
