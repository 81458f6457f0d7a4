/**
 * Under `serve` with several edge workers, images are optimised in one image worker process,
 * started on the first image: sharp and libvips are mapped into that process and no other.
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect } from 'vitest';
import { test } from '../../helpers/fixtures.js';
import { send } from '../../helpers/http.js';
import { freePort, runServe, writeConfig } from '../../helpers/serve.js';
import { waitFor } from '../../helpers/wait.js';

/** The processes `serve` forked (its workers), and whether each has libvips mapped. */
function children(pid: number): { pid: number; libvips: boolean }[] {
  const listed = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return listed === ''
    ? []
    : listed.split(/\s+/).map((child) => {
        let maps = '';
        try {
          maps = readFileSync(`/proc/${child}/maps`, 'utf8');
        } catch {
          // exited meanwhile
        }
        return { pid: Number(child), libvips: maps.includes('libvips') };
      });
}

describe('the image worker', () => {
  test('is started by the first image, and is the only process that loads libvips', async ({ redis, origin }) => {
    const jpeg = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#3a6' } })
      .jpeg({ quality: 98 })
      .toBuffer();
    origin.handle((req, res) => {
      if (req.url === '/photo.jpg') {
        res.writeHead(200, { 'content-type': 'image/jpeg', 'cache-control': 'max-age=600' });
        return void res.end(jpeg);
      }
      res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'max-age=600' });
      res.end('<p>page</p>');
    });
    const [edgePort, adminPort] = [await freePort(), await freePort()];
    const file = writeConfig(
      `edge: { listen: { host: 127.0.0.1, port: ${edgePort} } }\nadmin: { listen: { port: ${adminPort} } }\n` +
        `redis: { url: "${redis.url}" }\nservices:\n  - id: img\n    hosts: [img.test]\n    origin: { url: "${origin.url}" }\n`,
    );
    const serve = await runServe(file, adminPort, {}, 2);
    try {
      const url = `http://127.0.0.1:${edgePort}`;
      const get = (path: string) => send(url, { path, headers: { host: 'img.test', accept: 'image/webp,*/*' } });
      // Both edge workers up, and no image yet: two processes, neither with libvips.
      await waitFor(() => children(serve.pid).length === 2, 'two edge workers');
      expect((await get('/page')).status).toBe(200);
      expect(children(serve.pid).filter((c) => c.libvips)).toEqual([]);

      const first = await get('/photo.jpg');
      expect(first.headers['content-type']).toBe('image/jpeg');
      // The image worker re-encodes it; a later hit is the WebP (whichever edge worker answers).
      await waitFor(
        async () => (await get('/photo.jpg')).headers['content-type'] === 'image/webp',
        'the WebP to be served',
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      const processes = children(serve.pid);
      expect(processes).toHaveLength(3);
      expect(processes.filter((c) => c.libvips)).toHaveLength(1);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
  });
});
