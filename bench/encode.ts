/**
 * `npm run bench -- encode`: what compressing one small page costs, inline against libuv's thread
 * pool — the measurement behind src/transform/compress.ts's INLINE_BYTES. Encodes a 1 KiB HTML page
 * ENCODE_COUNT times (default 3,000; 32 at a time for the pool) with Brotli q5 and gzip -6, and
 * prints the process's CPU (user + system, pool threads included) and wall time per encode.
 */
import { promisify } from 'node:util';
import { brotliCompress, brotliCompressSync, constants, gzip, gzipSync } from 'node:zlib';
import { encode } from '../src/transform/compress.js';

const COUNT = Number(process.env.ENCODE_COUNT ?? 3000);
const page = Buffer.from(
  Array.from({ length: 40 }, (_, i) => `<p>line ${i} of a page that compresses well</p>`).join('\n'),
).subarray(0, 1024);
const brotliAsync = promisify(brotliCompress);
const gzipAsync = promisify(gzip);
const brotliDefaults = {
  params: {
    [constants.BROTLI_PARAM_QUALITY]: 5,
    [constants.BROTLI_PARAM_SIZE_HINT]: page.length,
    [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
  },
};
const settings = { enabled: true, types: [], minBytes: 0, brotliQuality: 5, gzipLevel: 6 };

async function measure(name: string, run: () => Promise<Buffer>): Promise<void> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  let bytes = 0;
  for (let i = 0; i < COUNT; i += 32) {
    const out = await Promise.all(Array.from({ length: Math.min(32, COUNT - i) }, run));
    bytes = out[0]?.length ?? 0;
  }
  const used = process.cpuUsage(cpu);
  console.log(
    `${name.padEnd(44)} ${((used.user + used.system) / COUNT).toFixed(0).padStart(5)} µs CPU` +
      `  ${(((performance.now() - started) * 1000) / COUNT).toFixed(0).padStart(5)} µs wall  ${bytes} bytes`,
  );
}

async function main(): Promise<void> {
  console.log(`\nencoding a ${page.length}-byte HTML page, ${COUNT} times each (CPU includes the thread pool)\n`);
  await measure('Brotli q5, thread pool', () => brotliAsync(page, brotliDefaults));
  await measure('Brotli q5, inline', async () => brotliCompressSync(page, brotliDefaults));
  await measure('gzip -6, thread pool', () => gzipAsync(page, { level: 6 }));
  await measure('gzip -6, inline', async () => gzipSync(page, { level: 6 }));
  await measure("Brotli q5, the edge's encode()", () => encode(page, 'br', settings));
  await measure("gzip -6, the edge's encode()", () => encode(page, 'gzip', settings));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
