/**
 * Images optimised off the request path: the first request gets the original at once; then AVIF,
 * WebP and an optimised original replace it, per Accept bucket, only when smaller; metadata goes,
 * the colour profile stays; derived images are purged with their source. Hostile input (corrupt,
 * truncated, too many pixels, animated) leaves the original untouched and the edge unharmed.
 */
import sharp from 'sharp';
import { describe, expect } from 'vitest';
import { OPERATOR_TOKEN, startAdmin } from '../../helpers/admin.js';
import { startEdge, test } from '../../helpers/fixtures.js';
import type { TestOrigin } from '../../helpers/origin.js';
import { settled, waitFor } from '../../helpers/wait.js';

const AVIF = 'image/avif,image/webp,image/apng,image/*,*/*;q=0.8';
const WEBP = 'image/webp,image/*,*/*;q=0.8';

/** A photo-like JPEG: noise over a gradient, high quality, with EXIF and an sRGB profile. */
async function photo(width = 640, height = 480): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  let seed = 7;
  for (let i = 0; i < raw.length; i++) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    raw[i] = (((i / 3) % width) / width) * 200 + (seed % 40);
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .withMetadata({ exif: { IFD0: { Copyright: 'secret-location-data' } }, icc: 'srgb' })
    .jpeg({ quality: 98 })
    .toBuffer();
}

function serveImages(origin: TestOrigin, images: Record<string, [string, Buffer]>): void {
  origin.handle((req, res) => {
    const found = images[(req.url ?? '').split('?')[0] as string];
    if (!found) {
      res.writeHead(404);
      return void res.end();
    }
    res.writeHead(200, { 'content-type': found[0], 'cache-control': 'max-age=600', etag: '"img-1"' });
    res.end(found[1]);
  });
}

describe('images optimised off the request path', () => {
  test('the first request gets the original; later hits get the smallest picture each client displays', async ({
    redis,
    origin,
  }) => {
    const original = await photo();
    serveImages(origin, { '/photo.jpg': ['image/jpeg', original] });
    const edge = await startEdge(redis.url, origin.url, {
      config: { admin: { tokens: { operator: [OPERATOR_TOKEN] } } },
      hitFlushMs: 20,
    });
    const admin = await startAdmin(edge);
    try {
      const first = await edge.get('/photo.jpg', { headers: { accept: AVIF } });
      expect(first.headers['x-cache-status']).toBe('Miss');
      expect(first.body.equals(original)).toBe(true); // nobody waits for the optimisation
      await settled(edge);

      const avif = await edge.get('/photo.jpg', { headers: { accept: AVIF } });
      const webp = await edge.get('/photo.jpg', { headers: { accept: WEBP } });
      const plain = await edge.get('/photo.jpg', { headers: { accept: 'image/jpeg' } });
      const FORMAT: Record<string, string> = { 'image/avif': 'heif', 'image/webp': 'webp', 'image/jpeg': 'jpeg' };
      for (const [sent, displays] of [
        [avif, ['image/avif', 'image/webp', 'image/jpeg']],
        [webp, ['image/webp', 'image/jpeg']],
        [plain, ['image/jpeg']],
      ] as const) {
        const type = String(sent.headers['content-type']);
        expect(sent.headers['x-cache-status'], type).toBe('Hit');
        expect(displays).toContain(type); // a format the client displays …
        expect(sent.body.length, type).toBeLessThan(original.length);
        expect(Number(sent.headers['content-length'])).toBe(sent.body.length);
        expect(String(sent.headers.vary)).toMatch(/accept/i);
        const meta = await sharp(sent.body).metadata();
        expect(meta.format).toBe(FORMAT[type]);
        expect([meta.width, meta.height]).toEqual([640, 480]);
        expect(meta.exif).toBeUndefined(); // metadata stripped …
        expect(meta.icc).toBeDefined(); // … the colour profile kept
      }
      // … and the smallest of those: a client that displays more never gets more bytes.
      expect(avif.body.length).toBeLessThanOrEqual(webp.body.length);
      expect(webp.body.length).toBeLessThanOrEqual(plain.body.length);
      expect(avif.headers.etag).toMatch(/^"img-1-(avif|webp|jpeg)"$/);
      expect(origin.requests.length).toBe(1);

      const stats = await waitFor(async () => {
        const answer = (await admin.call('GET', `/v1/services/${edge.service}/stats`)).json;
        return answer.hits >= 3 && answer;
      }, 'the hits to reach the stats');
      expect(stats.bytesSavedByImages).toBe(
        3 * original.length - avif.body.length - webp.body.length - plain.body.length,
      );

      // One object: listed once with its representations, and its derived images go with it.
      const listed = (await admin.call('GET', `/v1/services/${edge.service}/entries`)).json;
      expect(listed.items).toHaveLength(1);
      expect(listed.items[0].contentType).toBe('image/jpeg'); // listed as what the origin sent
      const distinct = new Set([avif.body.length, webp.body.length, plain.body.length]);
      expect(listed.items[0].size).toBe([...distinct].reduce((a, b) => a + b, 0));
      const purged = await admin.call('POST', '/v1/purge', { url: `http://${edge.host}/photo.jpg` });
      expect(purged.json.purged).toBe(1);
      expect((await edge.get('/photo.jpg', { headers: { accept: AVIF } })).headers['x-cache-status']).toBe('Miss');
    } finally {
      await admin.close();
      await edge.close();
    }
  });

  test('hostile images pass through untouched and the edge keeps serving', async ({ redis, origin }) => {
    const jpeg = await photo(320, 240);
    const noise = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251));
    const frame = (r: number, g: number, b: number) =>
      Buffer.from(Array.from({ length: 32 * 32 }, () => [r, g, b, 255]).flat());
    const animatedGif = await sharp(Buffer.concat([frame(255, 0, 0), frame(0, 255, 0), frame(0, 0, 255)]), {
      raw: { width: 32, height: 96, channels: 4, pageHeight: 32 },
    })
      .gif({ delay: [100, 100, 100] })
      .toBuffer();
    const huge = await sharp({ create: { width: 4000, height: 4000, channels: 3, background: '#336699' } })
      .png()
      .toBuffer();
    const images: Record<string, [string, Buffer]> = {
      '/corrupt.jpg': ['image/jpeg', noise],
      '/truncated.jpg': ['image/jpeg', jpeg.subarray(0, Math.floor(jpeg.length / 2))],
      '/huge.png': ['image/png', huge],
      '/animated.gif': ['image/gif', animatedGif],
      '/lying.png': ['image/png', Buffer.from('<html>not an image at all</html>'.repeat(40))],
    };
    expect((await sharp(animatedGif).metadata()).pages).toBe(3);
    serveImages(origin, images);
    const edge = await startEdge(redis.url, origin.url, {
      service: { transform: { images: { maxPixels: 1_000_000 } } }, // 16 MP is too many here
    });
    try {
      for (const path of Object.keys(images)) await edge.get(path, { headers: { accept: AVIF } });
      await settled(edge);
      for (const [path, [type, bytes]] of Object.entries(images)) {
        for (const accept of [AVIF, WEBP, 'image/*']) {
          const sent = await edge.get(path, { headers: { accept } });
          expect(sent.status, path).toBe(200);
          expect(sent.headers['x-cache-status'], `${path} ${accept}`).toBe('Hit');
          expect(sent.headers['content-type'], path).toBe(type);
          expect(sent.body.equals(bytes), `${path} ${accept}`).toBe(true);
        }
      }
      expect(origin.requests.length).toBe(Object.keys(images).length);
    } finally {
      await edge.close();
    }
  });

  test('no-transform, an origin that negotiates formats itself, and a disabled service are left alone', async ({
    redis,
    origin,
  }) => {
    const jpeg = await photo(320, 240);
    origin.handle((req, res) => {
      const headers: Record<string, string> = { 'content-type': 'image/jpeg', 'cache-control': 'max-age=600' };
      if (req.url === '/no-transform.jpg') headers['cache-control'] = 'max-age=600, no-transform';
      if (req.url === '/negotiated.jpg') headers.vary = 'Accept';
      res.writeHead(200, headers);
      res.end(jpeg);
    });
    const edge = await startEdge(redis.url, origin.url);
    const off = await startEdge(redis.url, origin.url, { service: { transform: { images: { enabled: false } } } });
    try {
      for (const [node, path] of [
        [edge, '/no-transform.jpg'],
        [edge, '/negotiated.jpg'],
        [off, '/plain.jpg'],
      ] as const) {
        await node.get(path, { headers: { accept: AVIF } });
        await settled(node);
        const hit = await node.get(path, { headers: { accept: AVIF } });
        expect(hit.headers['x-cache-status'], path).toBe('Hit');
        expect(hit.headers['content-type'], path).toBe('image/jpeg');
        expect(hit.body.equals(jpeg), path).toBe(true);
      }
    } finally {
      await edge.close();
      await off.close();
    }
  });
});
