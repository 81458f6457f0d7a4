/**
 * Issue 20: every client gets the smallest picture it can display. For each kind of picture an edge
 * is sent (photograph as JPEG and as PNG, flat graphic, transparency; test/helpers/pictures.ts),
 * each Accept bucket is served the smallest of the formats its clients display — computed here
 * with the edge's own encoder and settings — and bytes several buckets share are stored once.
 * `png: lossy` quantises PNGs to a palette where that is smaller, and never loses transparency.
 */
import sharp from 'sharp';
import { describe, expect } from 'vitest';
import { type ImageBucket, type ImageSettings, optimise } from '../../../src/transform/images.js';
import { OPERATOR_TOKEN, startAdmin } from '../../helpers/admin.js';
import { startEdge, type TestEdge, test } from '../../helpers/fixtures.js';
import type { TestOrigin } from '../../helpers/origin.js';
import { type Picture, pictures } from '../../helpers/pictures.js';
import { settled } from '../../helpers/wait.js';

/** Each bucket's Accept, as browsers send it, and the formats its clients display. */
const BUCKETS: Record<ImageBucket, { accept: string; displays: ImageBucket[] }> = {
  avif: { accept: 'image/avif,image/webp,image/apng,image/*,*/*;q=0.8', displays: ['avif', 'webp', 'original'] },
  webp: { accept: 'image/webp,image/*,*/*;q=0.8', displays: ['webp', 'original'] },
  original: { accept: 'image/png,image/jpeg,*/*;q=0.5', displays: ['original'] },
};

function serve(origin: TestOrigin, all: Picture[]): void {
  origin.handle((req, res) => {
    const picture = all.find((p) => req.url === `/${p.kind}`);
    if (!picture) {
      res.writeHead(404, { 'content-length': '0' });
      return void res.end();
    }
    res.writeHead(200, { 'content-type': picture.type, 'cache-control': 'max-age=600', etag: `"${picture.kind}"` });
    res.end(picture.bytes);
  });
}

/** What the edge should serve each bucket: the smallest of its own encodings and the origin's bytes. */
async function expected(picture: Picture, settings: ImageSettings): Promise<Record<ImageBucket, number>> {
  const size: Partial<Record<ImageBucket, number>> = {};
  for (const format of ['avif', 'webp', 'original'] as const) {
    size[format] = (await optimise(picture.bytes, format, settings))?.bytes.length ?? picture.bytes.length;
  }
  const smallest = (bucket: ImageBucket) =>
    Math.min(...BUCKETS[bucket].displays.map((format) => size[format] as number));
  return { avif: smallest('avif'), webp: smallest('webp'), original: smallest('original') };
}

/** Every picture fetched once (each a miss), and the edge done optimising. */
async function warmed(edge: TestEdge, all: Picture[]): Promise<void> {
  for (const picture of all) expect((await edge.get(`/${picture.kind}`)).status).toBe(200);
  await settled(edge);
}

const FORMATS: Record<string, ImageBucket | 'jpeg' | 'png'> = {
  'image/avif': 'avif',
  'image/webp': 'webp',
  'image/jpeg': 'jpeg',
  'image/png': 'png',
};

describe('the smallest picture each client displays', () => {
  test('for every bucket and every kind of picture, stored once however many buckets share it', async ({
    redis,
    origin,
  }) => {
    const all = await pictures(600, 400);
    serve(origin, all);
    const edge = await startEdge(redis.url, origin.url, {
      config: { admin: { tokens: { operator: [OPERATOR_TOKEN] } } },
    });
    const admin = await startAdmin(edge);
    try {
      await warmed(edge, all);
      const settings = edge.config.services[0]?.transform.images as ImageSettings;
      const listed = (await admin.call('GET', `/v1/services/${edge.service}/entries`)).json.items as {
        path: string;
        size: number;
      }[];
      for (const picture of all) {
        const want = await expected(picture, settings);
        const sizes = new Set<number>();
        for (const [bucket, { accept, displays }] of Object.entries(BUCKETS)) {
          const sent = await edge.get(`/${picture.kind}`, { headers: { accept } });
          const what = `${picture.kind} for ${bucket}`;
          expect(sent.headers['x-cache-status'], what).toBe('Hit');
          expect(sent.body.length, what).toBe(want[bucket as ImageBucket]);
          // A format this bucket's clients display.
          const format = FORMATS[String(sent.headers['content-type'])];
          const original = picture.type === 'image/jpeg' ? 'jpeg' : 'png';
          expect(
            displays.map((f) => (f === 'original' ? original : f)),
            what,
          ).toContain(format);
          expect((await sharp(sent.body).metadata()).width, what).toBe(600);
          sizes.add(sent.body.length);
        }
        // The object holds each distinct picture once, whichever buckets share it.
        const item = listed.find((i) => i.path === `/${picture.kind}`);
        expect(item?.size, picture.kind).toBe([...sizes].reduce((a, b) => a + b, 0));
      }
      expect(origin.requests).toHaveLength(all.length);
    } finally {
      await admin.close();
      await edge.close();
    }
  });

  test('png: lossy quantises a PNG to a palette where that is smaller, and keeps transparency', async ({
    redis,
    origin,
  }) => {
    const all = (await pictures(600, 400)).filter((p) => p.type === 'image/png');
    serve(origin, all);
    const edge = await startEdge(redis.url, origin.url, { service: { transform: { images: { png: 'lossy' } } } });
    try {
      await warmed(edge, all);
      const settings = edge.config.services[0]?.transform.images as ImageSettings;
      const lossless = { ...settings, png: 'lossless' as const };
      const plain = async (kind: string) => edge.get(`/${kind}`, { headers: { accept: BUCKETS.original.accept } });
      // A photograph saved as PNG: a palette, smaller than the best lossless PNG.
      const photo = await plain('photo-png');
      const photoLossless = await optimise(
        all.find((p) => p.kind === 'photo-png')?.bytes as Buffer,
        'original',
        lossless,
      );
      expect(photo.headers['content-type']).toBe('image/png');
      expect((await sharp(photo.body).metadata()).isPalette).toBe(true);
      expect(photo.body.length).toBeLessThan(photoLossless?.bytes.length as number);
      // Soft transparency dithered to a palette comes out larger: the lossless PNG is kept, alpha and all.
      const glass = await plain('transparent-png');
      const meta = await sharp(glass.body).metadata();
      expect(meta.hasAlpha).toBe(true);
      const glassLossless = await optimise(
        all.find((p) => p.kind === 'transparent-png')?.bytes as Buffer,
        'original',
        lossless,
      );
      expect(glass.body.length).toBeLessThanOrEqual(glassLossless?.bytes.length as number);
    } finally {
      await edge.close();
    }
  });
});
