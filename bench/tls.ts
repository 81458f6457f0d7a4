/**
 * `npm run bench -- tls`: HTTPS beside nginx, one interleaved run, the same certificate (ECDSA
 * P-256, made with openssl) and the same origin (bench/origin.mjs).
 *
 * Systems: cachefront serve (2 workers, access log off, a local redis-server; the certificate as
 * the default one, since the load generators connect to an IP and send no SNI) and nginx with TLS
 * as bench/nginx-tls.conf.template configures it. Workloads, each over TLS 1.3:
 *   - new handshakes: wrk with `Connection: close`, so every request is a new TLS connection and
 *     a full handshake (requests/s = handshakes/s);
 *   - 1 KiB hits over HTTP/1.1 with keep-alive: h2load --h1;
 *   - 1 KiB hits over HTTP/2: h2load, 10 streams per connection.
 * Each repetition runs every workload on both systems, their order rotated; ratios are the median
 * of the per-repetition ratios. BENCH_DURATION (seconds per run, default 8), BENCH_CONNECTIONS
 * (default 64), BENCH_REPS (default 3).
 */
import { execFile, fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MODERN_CIPHERS } from '../src/config/tls.js';
import { startLocalRedis } from '../src/redis/local-server.js';
import { makeCert } from '../test/helpers/certs.js';
import { freePort, type Leftovers, runBenchmark, startServe, waitUntilUp, wrk } from './lib.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const HOST = 'bench.test';
const left: Leftovers = { children: [] };

interface Result {
  rps: number;
  detail: string;
}

/** h2load's own summary: requests/s, and how many failed. */
async function h2load(url: string, h1: boolean): Promise<Result> {
  const { stdout } = await run(
    'h2load',
    [
      '-t2',
      `-c${CONNECTIONS}`,
      `-D${DURATION}`,
      ...(h1 ? ['--h1', '-H', `host: ${HOST}`] : ['-m10', '-H', `:authority: ${HOST}`]),
      url,
    ],
    { maxBuffer: 1 << 22 },
  );
  const rps = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(stdout)?.[1]);
  const failed = /requests: .*?(\d+) failed/.exec(stdout)?.[1] ?? '?';
  const mean = /time for request:\s+\S+\s+\S+\s+(\S+)/.exec(stdout)?.[1] ?? '?';
  const protocol = /Application protocol: (\S+)/.exec(stdout)?.[1] ?? '?';
  return { rps, detail: `mean ${mean.padStart(8)}  ${protocol}  failed ${failed}` };
}

async function handshakes(url: string): Promise<Result> {
  const result = await wrk(url, {
    host: HOST,
    connections: CONNECTIONS,
    seconds: DURATION,
    extra: ['-H', 'Connection: close'],
  });
  return {
    rps: result.rps,
    detail: `p99 ${result.p99ms.toFixed(2).padStart(7)} ms${result.errors ? `  ${result.errors}` : ''}`,
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
  const [originPort, edgePort, tlsPort, adminPort, metricsPort, nginxPort] = (await Promise.all(
    Array.from({ length: 6 }, () => freePort()),
  )) as [number, number, number, number, number, number];
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
  left.children.push(startServe(config, { REDIS_URL: redis.url }));
  writeFileSync(
    join(dir, 'nginx.conf'),
    readFileSync(join(ROOT, 'bench', 'nginx-tls.conf.template'), 'utf8')
      .replaceAll('__PORT__', String(nginxPort))
      .replaceAll('__ORIGIN__', `127.0.0.1:${originPort}`)
      .replaceAll('__DIR__', dir)
      .replaceAll('__CERT__', cert.certFile)
      .replaceAll('__KEY__', cert.keyFile)
      .replaceAll('__CIPHERS__', MODERN_CIPHERS)
      .replace('__USER__', process.getuid?.() === 0 ? 'user root;' : ''),
  );
  left.children.push(
    spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: ['ignore', 'ignore', 'inherit'] }),
  );

  const systems = [
    { name: 'cachefront', port: tlsPort },
    { name: 'nginx', port: nginxPort },
  ];
  const url = (port: number) => `https://127.0.0.1:${port}/1k`;
  await waitUntilUp(`http://127.0.0.1:${originPort}/1k`);
  await waitUntilUp(`http://127.0.0.1:${edgePort}/1k`, { host: HOST });
  for (const system of systems) {
    // Up, and the object cached (h2load only counts; its first requests fill).
    await run('h2load', ['-n20', '-c1', '--h1', '-H', `host: ${HOST}`, url(system.port)]);
  }
  const workloads = [
    { name: 'new TLS handshakes (HTTP/1.1, Connection: close)', measure: (port: number) => handshakes(url(port)) },
    { name: '1 KiB hits, HTTP/1.1 keep-alive', measure: (port: number) => h2load(url(port), true) },
    { name: '1 KiB hits, HTTP/2 (10 streams per connection)', measure: (port: number) => h2load(url(port), false) },
  ];
  console.log(
    `\nTLS 1.3, ECDSA P-256; wrk/h2load -t2 -c${CONNECTIONS} -D${DURATION}s, ${REPS} repetitions, systems rotated; ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'})\n`,
  );
  const ratios = new Map<string, number[]>();
  for (let rep = 1; rep <= REPS; rep++) {
    for (const workload of workloads) {
      const order = rep % 2 === 0 ? [...systems].reverse() : systems;
      const results = new Map<string, Result>();
      for (const system of order) {
        const result = await workload.measure(system.port);
        results.set(system.name, result);
        console.log(
          `rep ${rep}  ${workload.name.padEnd(50)} ${system.name.padEnd(11)} ${result.rps.toFixed(0).padStart(7)} req/s  ${result.detail}`,
        );
      }
      const ratio = (results.get('cachefront')?.rps ?? 0) / (results.get('nginx')?.rps ?? 1);
      ratios.set(workload.name, [...(ratios.get(workload.name) ?? []), ratio]);
    }
  }
  console.log('\nmedian ratio cachefront / nginx');
  for (const workload of workloads) {
    console.log(`  ${workload.name.padEnd(50)} ${median(ratios.get(workload.name) ?? [0]).toFixed(2)}×`);
  }
}

runBenchmark(main, left);
