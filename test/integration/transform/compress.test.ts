/**
 * Text stored compressed: identity, gzip and Brotli representations made once at store time and
 * served by each client's Accept-Encoding; origins that compress are recognised; a Content-Encoding
 * that lies about the bytes is caught; a decompression bomb is not stored; no-transform is obeyed.
 */
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect } from 'vitest';
import { OPERATOR_TOKEN, startAdmin } from '../../helpers/admin.js';
import { startEdge, test } from '../../helpers/fixtures.js';
import type { Sent } from '../../helpers/http.js';
import { settled, waitFor } from '../../helpers/wait.js';

const PAGE = Buffer.from(
  Array.from({ length: 400 }, (_, i) => `<p>line ${i} of a page that compresses well</p>\n`).join(''),
);

function decoded(sent: Sent): Buffer {
  const coding = sent.headers['content-encoding'];
  if (coding === 'br') return brotliDecompressSync(sent.body);
  if (coding === 'gzip') return gunzipSync(sent.body);
  return sent.body;
}

describe('text stored compressed', () => {
  test('each client gets the best coding it accepts, with its own length and ETag; the origin is asked once', async ({
    redis,
    origin,
  }) => {
    origin.handle((_req, res) => {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'max-age=60',
        etag: '"page-1"',
      });
      res.end(PAGE);
    });
    const edge = await startEdge(redis.url, origin.url, {
      config: { admin: { tokens: { operator: [OPERATOR_TOKEN] } } },
      hitFlushMs: 20,
    });
    const admin = await startAdmin(edge);
    try {
      const miss = await edge.get('/page', { headers: { 'accept-encoding': 'gzip, deflate, br' } });
      expect(miss.headers['x-cache-status']).toBe('Miss');
      expect(decoded(miss).equals(PAGE)).toBe(true);
      await settled(edge); // stored after the response
      const get = (ae?: string) => edge.get('/page', { headers: ae ? { 'accept-encoding': ae } : {} });
      const br = await get('gzip, deflate, br');
      const gzip = await get('gzip');
      const plain = await get();
      for (const [sent, coding] of [
        [br, 'br'],
        [gzip, 'gzip'],
        [plain, undefined],
      ] as const) {
        expect(sent.headers['x-cache-status'], coding).toBe('Hit');
        expect(sent.headers['content-encoding'], coding).toBe(coding);
        expect(Number(sent.headers['content-length'])).toBe(sent.body.length);
        expect(String(sent.headers.vary).toLowerCase()).toContain('accept-encoding');
        expect(decoded(sent).equals(PAGE), coding).toBe(true);
      }
      expect(br.body.length).toBeLessThan(gzip.body.length);
      expect(gzip.body.length).toBeLessThan(PAGE.length / 4);
      // Strong ETags differ per representation (RFC 9110 §8.8.3) and each validates its own.
      expect(plain.headers.etag).toBe('"page-1"');
      expect(br.headers.etag).toBe('"page-1-br"');
      expect(gzip.headers.etag).toBe('"page-1-gzip"');
      const revalidated = await edge.get('/page', {
        headers: { 'accept-encoding': 'br, gzip', 'if-none-match': '"page-1-br"' },
      });
      expect(revalidated.status).toBe(304);
      expect(origin.requests.length).toBe(1);

      // Ranges apply to the representation's own bytes (RFC 9110 §14).
      const part = await edge.get('/page', { headers: { 'accept-encoding': 'br, gzip', range: 'bytes=0-9' } });
      expect(part.status).toBe(206);
      expect(part.headers['content-encoding']).toBe('br');
      expect(part.body.equals(br.body.subarray(0, 10))).toBe(true);
      expect(part.headers['content-range']).toBe(`bytes 0-9/${br.body.length}`);

      // One object, listed once with its representations and their sizes; bytes saved in the stats.
      const items = (await admin.call('GET', `/v1/services/${edge.service}/entries?prefix=/page`)).json.items;
      expect(items).toHaveLength(1);
      expect(items[0].sizes).toEqual({ identity: PAGE.length, gzip: gzip.body.length, br: br.body.length });
      expect(items[0].size).toBe(PAGE.length + gzip.body.length + br.body.length);
      expect(items[0].representations).toEqual([
        { name: 'identity', size: PAGE.length },
        { name: 'br', size: br.body.length },
        { name: 'gzip', size: gzip.body.length },
      ]);
      const stats = await waitFor(async () => {
        const answer = (await admin.call('GET', `/v1/services/${edge.service}/stats`)).json;
        return answer.hits >= 3 && answer;
      }, 'the hits to reach the stats');
      expect(stats.bytesSavedByCompression).toBeGreaterThanOrEqual(
        2 * PAGE.length - br.body.length - gzip.body.length, // at least the two hits above
      );
    } finally {
      await admin.close();
      await edge.close();
    }
  });

  test('a compressed origin: its bytes are kept for its coding, the others derived from them', async ({
    edge,
    origin,
  }) => {
    const sent = gzipSync(PAGE, { level: 1 });
    origin.handle((_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        vary: 'Accept-Encoding',
        'cache-control': 'max-age=60',
      });
      res.end(sent);
    });
    await edge.get('/data', { headers: { 'accept-encoding': 'gzip' } });
    await settled(edge);
    const gzip = await edge.get('/data', { headers: { 'accept-encoding': 'gzip' } });
    expect(gzip.headers['x-cache-status']).toBe('Hit');
    expect(gzip.body.equals(sent)).toBe(true); // stored as it came
    const br = await edge.get('/data', { headers: { 'accept-encoding': 'br, gzip' } });
    expect(br.headers['content-encoding']).toBe('br');
    expect(decoded(br).equals(PAGE)).toBe(true);
    const plain = await edge.get('/data');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.equals(PAGE)).toBe(true);
    expect(origin.requests.length).toBe(1);
  });

  test('Content-Encoding that lies is caught by the magic bytes, both ways', async ({ edge, origin }) => {
    origin.handle((req, res) => {
      if (req.url === '/claims-gzip') {
        res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip', 'cache-control': 'max-age=60' });
        res.end(PAGE); // plain bytes
      } else {
        res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'max-age=60' });
        res.end(gzipSync(PAGE)); // gzip bytes, unlabelled
      }
    });
    for (const path of ['/claims-gzip', '/hides-gzip']) {
      const first = await edge.get(path, { headers: { 'accept-encoding': 'gzip' } });
      expect(decoded(first).equals(PAGE), `${path} miss`).toBe(true);
      await settled(edge);
      for (const ae of ['gzip', 'br', undefined]) {
        const hit = await edge.get(path, { headers: ae ? { 'accept-encoding': ae } : {} });
        expect(hit.headers['x-cache-status'], `${path} ${ae}`).toBe('Hit');
        expect(decoded(hit).equals(PAGE), `${path} ${ae}`).toBe(true);
        if (!ae) expect(hit.headers['content-encoding']).toBeUndefined();
      }
    }
  });

  test('a decompression bomb is passed through untouched and never stored; no-transform is obeyed', async ({
    redis,
    origin,
  }) => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024)); // 64 MiB of zeros in ~64 KiB
    origin.handle((req, res) => {
      if (req.url === '/bomb') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'cache-control': 'max-age=60' });
        res.end(bomb);
      } else {
        res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'max-age=60, no-transform' });
        res.end(PAGE);
      }
    });
    const edge = await startEdge(redis.url, origin.url, { service: { cache: { maxObjectBytes: '1 MiB' } } });
    try {
      const first = await edge.get('/bomb', { headers: { 'accept-encoding': 'gzip' } });
      expect(first.body.equals(bomb)).toBe(true);
      await settled(edge);
      expect((await edge.get('/bomb', { headers: { 'accept-encoding': 'gzip' } })).headers['x-cache-status']).toBe(
        'Miss',
      );
      expect((await edge.get('/healthy')).status).toBe(200); // the edge is fine

      await edge.get('/kept', { headers: { 'accept-encoding': 'br, gzip' } });
      await settled(edge);
      const kept = await edge.get('/kept', { headers: { 'accept-encoding': 'br, gzip' } });
      expect(kept.headers['x-cache-status']).toBe('Hit');
      expect(kept.headers['content-encoding']).toBeUndefined(); // no-transform: as the origin sent it
      expect(kept.body.equals(PAGE)).toBe(true);
    } finally {
      await edge.close();
    }
  });

  test('a stale compressed representation revalidates with the origin’s own ETag', async ({ redis, origin }) => {
    const clock = { now: Date.now() };
    const edge = await startEdge(redis.url, origin.url, { now: () => clock.now, l1: false });
    try {
      origin.handle((req, res) => {
        if (req.headers['if-none-match'] === '"v7"') {
          res.writeHead(304, { etag: '"v7"', 'cache-control': 'max-age=60', date: new Date(clock.now).toUTCString() });
          return void res.end();
        }
        res.writeHead(200, {
          'content-type': 'text/css',
          'cache-control': 'max-age=60',
          etag: '"v7"',
          date: new Date(clock.now).toUTCString(),
        });
        res.end(PAGE);
      });
      await edge.get('/site.css', { headers: { 'accept-encoding': 'br, gzip' } });
      await settled(edge);
      clock.now += 120_000;
      const refreshed = await edge.get('/site.css', { headers: { 'accept-encoding': 'br, gzip' } });
      expect(refreshed.headers['x-cache-status']).toBe('Refresh');
      expect(origin.requests.at(-1)?.headers['if-none-match']).toBe('"v7"');
      expect(refreshed.headers.etag).toBe('"v7-br"');
      expect(refreshed.headers['content-encoding']).toBe('br');
      expect(decoded(refreshed).equals(PAGE)).toBe(true);
      await settled(edge);
      const hit = await edge.get('/site.css', { headers: { 'accept-encoding': 'br, gzip' } });
      expect(hit.headers['x-cache-status']).toBe('Hit');
      expect(hit.headers.etag).toBe('"v7-br"');
    } finally {
      await edge.close();
    }
  });
});
