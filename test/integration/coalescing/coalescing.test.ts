import { request as httpRequest } from 'node:http';
import { describe, expect } from 'vitest';
import { test } from '../../helpers/fixtures.js';

interface Streamed {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Promise<string>;
  firstByte: Promise<void>;
}

/** A GET whose first body byte and completion can be awaited separately. */
function stream(url: string, host: string, path: string, headers: Record<string, string> = {}): Promise<Streamed> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, headers: { host, ...headers }, agent: false }, (res) => {
      let text = '';
      let markFirst: () => void = () => undefined;
      const firstByte = new Promise<void>((r) => {
        markFirst = r;
      });
      const body = new Promise<string>((done, fail) => {
        res.on('data', (d: Buffer) => {
          text += d.toString();
          markFirst();
        });
        res.on('end', () => done(text));
        res.on('error', fail);
      });
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body, firstByte });
    });
    req.on('error', reject);
    req.end();
  });
}

const CHUNKS = Array.from({ length: 20 }, (_, i) => `chunk-${String(i).padStart(2, '0')};`);
const WHOLE = CHUNKS.join('');

describe('request coalescing', () => {
  test('60 concurrent misses make one origin request, streamed to every waiter as it arrives', async ({
    edge,
    origin,
  }) => {
    let release: () => void = () => undefined;
    const lastChunkAllowed = new Promise<void>((r) => {
      release = r;
    });
    origin.handle(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60' });
      for (const chunk of CHUNKS.slice(0, -1)) {
        res.write(chunk);
        await new Promise((r) => setTimeout(r, 5));
      }
      // The last chunk waits until every client has seen body bytes: if the edge buffered the
      // body before passing it on, this would never happen and the test would time out.
      await lastChunkAllowed;
      res.end(CHUNKS.at(-1));
    });
    const clients = await Promise.all(Array.from({ length: 60 }, () => stream(edge.url, edge.host, '/big')));
    await Promise.all(clients.map((c) => c.firstByte));
    release();
    const bodies = await Promise.all(clients.map((c) => c.body));
    expect(origin.requests).toHaveLength(1);
    expect(bodies.every((b) => b === WHOLE)).toBe(true);
    expect(clients.every((c) => c.status === 200)).toBe(true);
    const collapsed = clients.filter((c) => String(c.headers['cache-status']).includes('collapsed'));
    expect(collapsed).toHaveLength(59);
    const after = await edge.get('/big');
    expect(after.headers['x-cache-status']).toBe('Hit');
    expect(after.text).toBe(WHOLE);
  });

  test('an uncacheable response is never shared, and never serialises the waiters', async ({ edge, origin }) => {
    let inFlight = 0;
    let maxInFlight = 0;
    let n = 0;
    origin.handle(async (_req, res) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const mine = ++n;
      await new Promise((r) => setTimeout(r, 50));
      res.writeHead(200, { 'cache-control': 'private, max-age=60' });
      res.end(`for request ${mine}`);
      inFlight--;
    });
    const wave = async () => {
      const clients = await Promise.all(Array.from({ length: 20 }, () => stream(edge.url, edge.host, '/private')));
      return Promise.all(clients.map((c) => c.body));
    };
    const first = await wave();
    // Every client got a response of its own (the first one's private answer went to it alone).
    expect(new Set(first).size).toBe(20);
    expect(origin.requests).toHaveLength(20);
    // The waiters went to the origin side by side once the first answer showed it was private.
    expect(maxInFlight).toBeGreaterThan(1);

    maxInFlight = 0;
    const second = await wave();
    expect(new Set(second).size).toBe(20);
    // hit-for-miss: nobody waits for anybody on the second wave
    expect(maxInFlight).toBe(20);
  });

  test('waiters that differ in a varied header each get their own variant', async ({ edge, origin }) => {
    origin.handle(async (req, res) => {
      await new Promise((r) => setTimeout(r, 30));
      res.writeHead(200, { 'cache-control': 'max-age=60', vary: 'Accept-Language' });
      res.end(`lang=${req.headers['accept-language']}`);
    });
    const langs = ['fr', 'de', 'fr', 'it', 'de', 'fr'];
    const clients = await Promise.all(langs.map((l) => stream(edge.url, edge.host, '/v', { 'accept-language': l })));
    const bodies = await Promise.all(clients.map((c) => c.body));
    expect(bodies).toEqual(langs.map((l) => `lang=${l}`));
    // one fetch per language at most, never one per request
    expect(origin.requests.length).toBeLessThanOrEqual(4);
    expect(origin.requests.length).toBeGreaterThanOrEqual(3);
  });

  test('a waiter that disconnects does not disturb the others, and the entry is still stored', async ({
    edge,
    origin,
  }) => {
    origin.handle(async (_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60' });
      for (const chunk of CHUNKS) {
        res.write(chunk);
        await new Promise((r) => setTimeout(r, 5));
      }
      res.end();
    });
    const { hostname, port } = new URL(edge.url);
    const quitter = new Promise<void>((resolve) => {
      const req = httpRequest(
        { host: hostname, port, path: '/q', headers: { host: edge.host }, agent: false },
        (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', () => undefined);
      req.end();
    });
    const stayers = await Promise.all(Array.from({ length: 5 }, () => stream(edge.url, edge.host, '/q')));
    await quitter;
    expect(await Promise.all(stayers.map((s) => s.body))).toEqual(Array(5).fill(WHOLE));
    expect((await edge.get('/q')).headers['x-cache-status']).toBe('Hit');
    expect(origin.requests).toHaveLength(1);
  });

  test('an origin failure reaches every waiter as a clean error', async ({ edge, origin }) => {
    origin.handle(async (req) => {
      await new Promise((r) => setTimeout(r, 30));
      req.socket.destroy();
    });
    const clients = await Promise.all(Array.from({ length: 10 }, () => stream(edge.url, edge.host, '/boom')));
    expect(clients.map((c) => c.status)).toEqual(Array(10).fill(502));
    expect(origin.requests).toHaveLength(1);
  });
});
