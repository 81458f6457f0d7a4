import { request as httpRequest } from 'node:http';
import { describe, expect } from 'vitest';
import { startEdge, test } from '../../helpers/fixtures.js';

const MiB = 1024 * 1024;

/** Fetches through the edge, discarding bytes as they arrive; samples this process's RSS meanwhile. */
function fetchCounting(url: string, host: string, path: string) {
  const { hostname, port } = new URL(url);
  return new Promise<{ bytes: number; peakRss: number; headers: Record<string, unknown> }>((resolve, reject) => {
    let peakRss = process.memoryUsage.rss();
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }, 10);
    const req = httpRequest({ host: hostname, port, path, headers: { host }, agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => {
        bytes += d.length;
      });
      res.on('end', () => {
        clearInterval(sampler);
        resolve({ bytes, peakRss, headers: res.headers });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('large bodies stream through', () => {
  test('memory does not grow with the body size: 48 MiB and 384 MiB bodies stream through alike', async ({
    redis,
    origin,
  }) => {
    const block = Buffer.alloc(MiB, 'x');
    origin.handle((req, res) => {
      const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('mib')) * MiB;
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'application/octet-stream' });
      let sent = 0;
      const pump = () => {
        while (sent < size) {
          sent += block.length;
          if (!res.write(block)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    // No Content-Length: the size limit is found mid-stream, so the body starts out kept, then is dropped.
    const edge = await startEdge(redis.url, origin.url, { service: { cache: { maxObjectBytes: '16 MiB' } } });
    try {
      const growth = async (mib: number) => {
        const before = process.memoryUsage.rss();
        const result = await fetchCounting(edge.url, edge.host, `/huge?mib=${mib}`);
        expect(result.bytes).toBe(mib * MiB);
        expect(result.headers['x-cache-status']).toBe('Miss');
        return result.peakRss - before;
      };
      const small = await growth(48);
      const large = await growth(384);
      // Edge, origin and client share this process. Buffering the body would add ~336 MiB between
      // the two; streaming leaves the peaks within allocator noise of each other (measured here:
      // 77-95 MiB for any size from 32 MiB to 1 GiB).
      expect(large - small).toBeLessThan(64 * MiB);
      expect(large).toBeLessThan(192 * MiB);
      const again = await fetchCounting(edge.url, edge.host, '/huge?mib=48');
      expect(again.headers['x-cache-status']).toBe('Bypass'); // remembered as too large: not even kept
      expect(String(again.headers['cache-status'])).toContain('detail=too-large');
      expect(origin.requests).toHaveLength(3);
    } finally {
      await edge.close();
    }
  });

  test('a body within the size limit is stored once complete; one declared too large is never buffered', async ({
    redis,
    origin,
  }) => {
    origin.handle((req, res) => {
      const body = Buffer.alloc(req.url === '/small' ? 64 * 1024 : 2 * MiB, 'y');
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': body.length });
      res.end(body);
    });
    const edge = await startEdge(redis.url, origin.url, { service: { cache: { maxObjectBytes: '1 MiB' } } });
    try {
      await edge.get('/small');
      const small = await edge.get('/small');
      expect(small.headers['x-cache-status']).toBe('Hit');
      expect(small.body.length).toBe(64 * 1024);
      const large = await edge.get('/large');
      expect(large.body.length).toBe(2 * MiB);
      expect(large.headers['x-cache-status']).toBe('Bypass');
      expect(large.headers['cache-status']).toContain('detail=too-large');
    } finally {
      await edge.close();
    }
  });
});
