/**
 * `npm run bench -- transform`: what transforming before store costs and buys.
 *  1. Store-time cost per MiB of text, for the Brotli qualities and gzip levels worth considering,
 *     with the size each reaches (the corpus: this repository's own sources and docs, ~1 MiB).
 *  2. Decoding a stored representation per identity request, against storing the identity.
 *  3. Image re-encoding cost per megapixel, per output format, on photo-like images.
 *  4. Hit throughput of the edge for a 100 KiB HTML page: Brotli, gzip and identity delivery
 *     (wrk, 2 threads × 64 connections, BENCH_DURATION seconds each).
 *  5–6. Images: bytes against SSIM per format and quality for each kind of picture, and the bytes
 *     a browser mix downloads (bench/image-quality.ts).
 */
import { execFile, fork, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { startLocalRedis } from '../src/redis/local-server.js';
import { imageQuality } from './image-quality.js';

const ROOT = join(import.meta.dirname, '..');
const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const run = promisify(execFile);

function corpus(): Buffer {
  const files: Buffer[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|md|lua)$/.test(name)) files.push(readFileSync(path));
    }
  };
  for (const dir of ['src', 'docs', 'lua']) walk(join(ROOT, dir));
  return Buffer.concat(files).subarray(0, 1024 * 1024);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function time(fn: () => unknown, runs: number): number {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

async function timeAsync(fn: () => Promise<unknown>, runs: number): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

function textCost(): void {
  const text = corpus();
  const mib = text.length / 2 ** 20;
  console.log(
    `\n1. store-time compression of ${(text.length / 1024).toFixed(0)} KiB of text (median of 5, one core)\n`,
  );
  console.log('  coding           ms per MiB   size / identity');
  const row = (name: string, fn: () => Buffer, runs = 5) => {
    const out = fn();
    const ms = time(fn, runs) / mib;
    console.log(
      `  ${name.padEnd(16)} ${ms.toFixed(1).padStart(10)}   ${((out.length / text.length) * 100).toFixed(1).padStart(6)} %`,
    );
  };
  for (const level of [1, 6, 9]) row(`gzip -${level}`, () => gzipSync(text, { level }));
  for (const quality of [1, 4, 5, 6, 9, 11]) {
    row(
      `brotli q${quality}`,
      () =>
        brotliCompressSync(text, {
          params: {
            [constants.BROTLI_PARAM_QUALITY]: quality,
            [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
            [constants.BROTLI_PARAM_SIZE_HINT]: text.length,
          },
        }),
      quality === 11 ? 1 : 5,
    );
  }

  const page = text.subarray(0, 100 * 1024);
  const br = brotliCompressSync(page, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } });
  const gz = gzipSync(page, { level: 6 });
  const decodeBr = time(() => brotliDecompressSync(br), 200) * 1000;
  const decodeGz = time(() => gunzipSync(gz), 200) * 1000;
  console.log(
    `\n2. an identity client of a 100 KiB page: decoding per request costs ${decodeBr.toFixed(0)} µs (from Brotli) or ` +
      `${decodeGz.toFixed(0)} µs (from gzip) of the event loop; storing the identity costs ${(page.length / 1024).toFixed(0)} KiB ` +
      'of Redis per page and nothing per request.',
  );
}

async function photo(width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  let seed = 11;
  for (let i = 0; i < raw.length; i++) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    raw[i] = (((i / 3) % width) / width) * 180 + (((i / 3 / width) % height) / height) * 40 + (seed % 24);
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .blur(1.2)
    .jpeg({ quality: 92 })
    .toBuffer();
}

async function imageCost(): Promise<void> {
  console.log('\n3. image re-encoding (sharp, concurrency 1, median of 3) on photo-like JPEG sources\n');
  console.log('  source        output               ms per MP   size / source');
  for (const [width, height] of [
    [1000, 1000],
    [2000, 2000],
  ] as const) {
    const source = await photo(width, height);
    const mp = (width * height) / 1e6;
    const outputs: [string, (s: Sharp) => Sharp][] = [
      ['jpeg q75 mozjpeg', (s) => s.jpeg({ quality: 75, mozjpeg: true })],
      ['webp q75 effort 4', (s) => s.webp({ quality: 75, effort: 4 })],
      ['avif q50 effort 2', (s) => s.avif({ quality: 50, effort: 2 })],
      ['avif q50 effort 4', (s) => s.avif({ quality: 50, effort: 4 })],
      ['png level 9', (s) => s.png({ compressionLevel: 9 })],
    ];
    for (const [name, make] of outputs) {
      const once = await make(sharp(source).rotate().keepIccProfile()).toBuffer();
      const ms = (await timeAsync(() => make(sharp(source).rotate().keepIccProfile()).toBuffer(), 3)) / mp;
      console.log(
        `  ${`${mp} MP jpeg`.padEnd(13)} ${name.padEnd(20)} ${ms.toFixed(0).padStart(9)}   ${((once.length / source.length) * 100).toFixed(0).padStart(5)} %`,
      );
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function hitThroughput(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cachefront-transform-'));
  const redis = await startLocalRedis();
  const [originPort, edgePort, adminPort] = [await freePort(), await freePort(), await freePort()];
  const page = corpus().subarray(0, 100 * 1024);
  writeFileSync(join(dir, 'page.html'), page);
  writeFileSync(
    join(dir, 'origin.mjs'),
    `import { createServer } from 'node:http'; import { readFileSync } from 'node:fs';
const page = readFileSync(${JSON.stringify(join(dir, 'page.html'))});
createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'max-age=3600' }); res.end(page); })
  .listen(${originPort}, '127.0.0.1', () => process.send?.('ready'));`,
  );
  const origin = fork(join(dir, 'origin.mjs'), [], { stdio: 'ignore' });
  await new Promise((r) => origin.once('message', r));
  writeFileSync(
    join(dir, 'edge.yaml'),
    `edge: { listen: { host: 127.0.0.1, port: ${edgePort} }, workers: 2 }\nadmin: { listen: { port: ${adminPort} } }\n` +
      `redis: { url: "${redis.url}" }\nl1: { maxBytes: 64 MiB }\nservices:\n  - id: t\n    hosts: [t.test]\n    origin: { url: "http://127.0.0.1:${originPort}" }\n`,
  );
  const edge = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'cachefront.mjs'), 'serve', '--config', join(dir, 'edge.yaml')],
    {
      env: { ...process.env, LOG_LEVEL: 'error' },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  try {
    const url = `http://127.0.0.1:${edgePort}/page`;
    for (let i = 0; i < 200; i++) {
      try {
        await fetch(`http://127.0.0.1:${adminPort}/readyz`);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    for (const ae of ['br, gzip', 'gzip', 'identity']) {
      for (let i = 0; i < 3; i++)
        await run('curl', ['-s', '-o', '/dev/null', '-H', 'Host: t.test', '-H', `Accept-Encoding: ${ae}`, url]);
    }
    await new Promise((r) => setTimeout(r, 500));
    console.log(
      `\n4. edge hits of a ${page.length / 1024} KiB HTML page (wrk -t2 -c64 -d${DURATION}s, 2 edge workers, L1 on)\n`,
    );
    for (const ae of ['br, gzip', 'gzip', 'identity']) {
      const { stdout } = await run('wrk', [
        '-t2',
        '-c64',
        `-d${DURATION}s`,
        '--latency',
        '-H',
        'Host: t.test',
        '-H',
        `Accept-Encoding: ${ae}`,
        url,
      ]);
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
      const transfer = /Transfer\/sec:\s+([\d.]+\w+)/.exec(stdout)?.[1];
      const p99 = /\s99%\s+([\d.]+\w+)/.exec(stdout)?.[1];
      console.log(
        `  Accept-Encoding: ${ae.padEnd(10)} ${rps.toFixed(0).padStart(7)} req/s   ${transfer?.padStart(9)}/s   p99 ${p99}`,
      );
    }
  } finally {
    edge.kill('SIGTERM');
    origin.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 800));
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** BENCH_PARTS: which parts to run (text, images, quality, hits; default all). */
const PARTS = new Set((process.env.BENCH_PARTS ?? 'text,images,quality,hits').split(','));

async function main(): Promise<void> {
  console.log(`transform costs on ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'})`);
  if (PARTS.has('text')) textCost();
  if (PARTS.has('images')) await imageCost();
  if (PARTS.has('hits')) await hitThroughput();
  if (PARTS.has('quality')) await imageQuality();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
