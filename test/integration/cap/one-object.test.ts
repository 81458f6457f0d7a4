/**
 * One object, one slot: the representations the edge makes of one origin response (identity, gzip
 * and Brotli of a text; AVIF, WebP and the original of an image) count once against maxObjects,
 * leave with their object, are listed as one, and bytes stored count each stored byte once. What
 * could not be transformed is stored once and serves every client.
 */
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { describe, expect } from 'vitest';
import { decodeRecord } from '../../../src/store/codec.js';
import { OPERATOR_TOKEN, startAdmin, type TestAdmin } from '../../helpers/admin.js';
import { startEdge, type TestEdge, test } from '../../helpers/fixtures.js';
import { settled, waitFor } from '../../helpers/wait.js';

const PAGE = Buffer.from(Array.from({ length: 400 }, (_, i) => `<p>paragraph ${i}, compressible</p>\n`).join(''));
const BROWSER = { 'accept-encoding': 'gzip, deflate, br', accept: 'image/avif,image/webp,*/*' };
const CLIENTS = [BROWSER, { 'accept-encoding': 'gzip', accept: 'image/webp,*/*' }, { accept: 'image/png,*/*' }];

async function photo(): Promise<Buffer> {
  const width = 400;
  const height = 300;
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 37 + (i >> 7) * 11) % 256;
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 95 })
    .toBuffer();
}

/** Entry keys (`cf:{svc}:e:*`) the service has in Redis. */
async function entryKeys(edge: TestEdge): Promise<string[]> {
  return edge.redis.keys(`cf:{${edge.service}}:e:*`);
}

async function stats(admin: TestAdmin, edge: TestEdge) {
  return (await admin.call('GET', `/v1/services/${edge.service}/stats`)).json;
}

describe('one object, one slot', () => {
  test('a text and an image count once each against the cap, and leave whole', async ({ redis, origin }) => {
    const image = await photo();
    origin.handle((req, res) => {
      const isImage = req.url?.startsWith('/img');
      res.writeHead(200, { 'content-type': isImage ? 'image/jpeg' : 'text/html', 'cache-control': 'max-age=600' });
      res.end(isImage ? image : PAGE);
    });
    const edge = await startEdge(redis.url, origin.url, {
      service: { cache: { maxObjects: 2 } },
      config: { admin: { tokens: { operator: [OPERATOR_TOKEN] } } },
    });
    const admin = await startAdmin(edge);
    try {
      await edge.get('/page', { headers: BROWSER });
      await edge.get('/img/photo.jpg', { headers: BROWSER });
      await settled(edge);
      for (const headers of CLIENTS) {
        expect((await edge.get('/page', { headers })).headers['x-cache-status']).toBe('Hit');
        expect((await edge.get('/img/photo.jpg', { headers })).headers['x-cache-status']).toBe('Hit');
      }
      // Two objects within a cap of two: nothing was evicted, though six keys are stored.
      const counted = await stats(admin, edge);
      expect(counted.entries).toBe(2);
      expect(counted.evictions).toBe(0);
      const items = (await admin.call('GET', `/v1/services/${edge.service}/entries`)).json.items;
      expect(items).toHaveLength(2);
      const keysHeld = (await entryKeys(edge)).length;
      expect(keysHeld).toBeGreaterThanOrEqual(4);
      // Bytes stored are the bytes of every representation, each once.
      const listed = items.reduce((n: number, item: { size: number }) => n + item.size, 0);
      expect(counted.bytesStored).toBe(listed);
      const page = items.find((item: { path: string }) => item.path === '/page');
      expect(Object.keys(page.sizes).sort()).toEqual(['br', 'gzip', 'identity']);

      // A third object evicts one whole object: every key of it goes. With the hits above counted,
      // the newcomer (no hit yet) is the least frequently used.
      await edge.app.background.flushHits();
      await edge.get('/other', { headers: BROWSER });
      await settled(edge);
      const after = await stats(admin, edge);
      expect(after.entries).toBe(2);
      expect(after.evictions).toBe(1);
      const remaining = (await admin.call('GET', `/v1/services/${edge.service}/entries`)).json.items;
      expect(remaining.map((item: { path: string }) => item.path).sort()).toEqual(['/img/photo.jpg', '/page']);
      // Every key left in Redis belongs to an object still listed: the evicted one left whole.
      const ids = new Set(remaining.map((item: { key: string }) => item.key));
      for (const key of await entryKeys(edge)) {
        const record = decodeRecord((await edge.redis.getBuffer(key)) as Buffer);
        const object = record?.kind === 'alias' ? record.object : record?.kind === 'entry' ? record.meta.object : key;
        expect(ids.has(object)).toBe(true);
      }

      // A purge of the URL removes the object and all of its keys.
      const before = (await entryKeys(edge)).length;
      const purged = await admin.call('POST', '/v1/purge', { url: `http://${edge.host}/page` });
      expect(purged.json.purged).toBe(1);
      expect((await entryKeys(edge)).length).toBe(before - 3);
    } finally {
      await admin.close();
      await edge.close();
    }
  });

  test('an image that cannot be transformed is stored once and serves every client', async ({ redis, origin }) => {
    const corrupt = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(4000, 7)]);
    origin.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg', 'cache-control': 'max-age=600' });
      res.end(corrupt);
    });
    const edge = await startEdge(redis.url, origin.url, {
      config: { admin: { tokens: { operator: [OPERATOR_TOKEN] } } },
      hitFlushMs: 20,
    });
    const admin = await startAdmin(edge);
    try {
      await edge.get('/broken.jpg', { headers: BROWSER });
      await settled(edge);
      for (const headers of CLIENTS) {
        const sent = await edge.get('/broken.jpg', { headers });
        expect(sent.headers['x-cache-status']).toBe('Hit');
        expect(sent.body.equals(corrupt)).toBe(true);
      }
      expect(await entryKeys(edge)).toHaveLength(1);
      const counted = await waitFor(async () => {
        const s = await stats(admin, edge);
        return s.hits >= 3 && s;
      }, 'the hits to be counted');
      expect(counted.entries).toBe(1);
      expect(counted.bytesStored).toBe(corrupt.length);
      expect(origin.requests).toHaveLength(1);
    } finally {
      await admin.close();
      await edge.close();
    }
  });

  test('a text nothing could shrink is stored once, under a key without Accept-Encoding', async ({ edge, origin }) => {
    const random = randomBytes(4096);
    origin.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600' });
      res.end(random);
    });
    await edge.get('/noise.txt', { headers: BROWSER });
    await settled(edge);
    for (const headers of CLIENTS) {
      const sent = await edge.get('/noise.txt', { headers });
      expect(sent.headers['x-cache-status']).toBe('Hit');
      expect(sent.headers['content-encoding']).toBeUndefined();
    }
    expect(await entryKeys(edge)).toHaveLength(1);
  });
});
