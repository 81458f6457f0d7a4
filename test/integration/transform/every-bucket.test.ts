/**
 * Every Accept-Encoding bucket fills, compression on or off: for any spelling of Accept-Encoding and
 * any way an origin compresses (never, gzip only, Brotli and gzip; saying Vary or not), the second
 * identical request is a hit, and every client gets bytes it can read.
 */
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { startEdge, type TestEdge, test } from '../../helpers/fixtures.js';
import type { Sent } from '../../helpers/http.js';
import { settled } from '../../helpers/wait.js';

const PAGE = Buffer.from(
  Array.from({ length: 300 }, (_, i) => `<li>item ${i} of a list that compresses</li>\n`).join(''),
);

const SPELLINGS = [
  undefined,
  '',
  'gzip, deflate, br',
  'gzip, deflate, br, zstd',
  'br, gzip',
  'br',
  'gzip',
  'x-gzip',
  'deflate',
  'identity',
  '*',
  'gzip;q=0',
  'br;q=1.0, gzip;q=0.8, *;q=0.1',
  'BR, GZIP',
  'compress, gzip',
  'br, gzip;q=0',
  'gzip, identity;q=0.5',
];

type Mode = 'none' | 'gzip' | 'br-gzip';

/** The q-value a request gives a coding (an independent reading of RFC 9110 §12.5.3). */
function accepts(header: string | undefined, coding: string): boolean {
  if (coding === 'identity') return true;
  const items = (header ?? '').split(',').map((item) => {
    const [name = '', ...params] = item.split(';').map((p) => p.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return { name: name === 'x-gzip' ? 'gzip' : name, q: q === undefined ? 1 : Number(q.slice(2)) };
  });
  const own = items.find((i) => i.name === coding) ?? items.find((i) => i.name === '*');
  return own !== undefined && own.q > 0;
}

function decoded(sent: Sent): Buffer {
  const coding = sent.headers['content-encoding'];
  if (coding === 'br') return brotliDecompressSync(sent.body);
  if (coding === 'gzip') return gunzipSync(sent.body);
  return sent.body;
}

/** /<mode>/<vary|novary>/<n>: compresses as `mode` says, with or without Vary: Accept-Encoding. */
function origin(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) {
  const [, mode, vary] = (req.url ?? '').split('/') as [string, Mode, string];
  const ae = String(req.headers['accept-encoding'] ?? '');
  const headers: Record<string, string> = { 'content-type': 'text/html', 'cache-control': 'max-age=600' };
  if (vary === 'vary') headers.vary = 'Accept-Encoding';
  let body = PAGE;
  if (mode === 'br-gzip' && accepts(ae, 'br')) {
    headers['content-encoding'] = 'br';
    body = brotliCompressSync(PAGE);
  } else if (mode !== 'none' && accepts(ae, 'gzip')) {
    headers['content-encoding'] = 'gzip';
    body = gzipSync(PAGE);
  }
  res.writeHead(200, headers);
  res.end(body);
}

describe.each([
  ['on', true],
  ['off', false],
])('every Accept-Encoding bucket fills (compression %s)', (_name, compress) => {
  let edge: TestEdge;
  test.beforeAll(async ({ redis }) => {
    const { startOrigin } = await import('../../helpers/origin.js');
    const server = await startOrigin(origin);
    edge = await startEdge(redis.url, server.url, { service: { transform: { compress: { enabled: compress } } } });
    edge.close = ((close) => async () => {
      await close();
      await server.close();
    })(edge.close);
  });
  test.afterAll(() => edge.close());

  test('for any spelling and any origin, the second identical request is a hit, in a coding the client reads', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SPELLINGS),
        fc.constantFrom<Mode>('none', 'gzip', 'br-gzip'),
        fc.boolean(),
        async (ae, mode, vary) => {
          const path = `/${mode}/${vary ? 'vary' : 'novary'}/${n++}`;
          const headers: Record<string, string> = ae === undefined ? {} : { 'accept-encoding': ae };
          const first = await edge.get(path, { headers });
          await settled(edge);
          const second = await edge.get(path, { headers });
          for (const sent of [first, second]) {
            expect(accepts(ae, String(sent.headers['content-encoding'] ?? 'identity'))).toBe(true);
            expect(decoded(sent).equals(PAGE)).toBe(true);
          }
          expect(second.headers['x-cache-status']).toBe('Hit');
        },
      ),
      { numRuns: 80 },
    );
  });

  test('one fill serves a browser, a gzip-only client and a plain one', async () => {
    for (const mode of ['gzip', 'br-gzip'] as const) {
      const path = `/${mode}/vary/shared`;
      await edge.get(path, { headers: { 'accept-encoding': 'gzip, deflate, br' } });
      await settled(edge);
      for (const ae of ['gzip, deflate, br', 'gzip', undefined]) {
        const sent = await edge.get(path, { headers: ae ? { 'accept-encoding': ae } : {} });
        expect(sent.headers['x-cache-status'], `${mode} ${ae}`).toBe('Hit');
        expect(accepts(ae, String(sent.headers['content-encoding'] ?? 'identity'))).toBe(true);
        expect(decoded(sent).equals(PAGE)).toBe(true);
      }
    }
  });
});
