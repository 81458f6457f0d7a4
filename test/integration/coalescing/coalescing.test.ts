import { request as httpRequest } from 'node:http';
import { describe, expect } from 'vitest';
import { test } from '../../helpers/fixtures.js';
import { stream } from '../../helpers/http.js';
import { gate, waitFor } from '../../helpers/wait.js';

const CHUNKS = Array.from({ length: 20 }, (_, i) => `chunk-${String(i).padStart(2, '0')};`);
const WHOLE = CHUNKS.join('');

describe('request coalescing', () => {
  test('60 concurrent misses make one origin request, streamed to every waiter as it arrives', async ({
    edge,
    origin,
  }) => {
    const everyoneHere = gate();
    const lastChunk = gate();
    origin.handle(async (_req, res) => {
      await everyoneHere.opened; // answers once all sixty wait on this one fetch
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60' });
      for (const chunk of CHUNKS.slice(0, -1)) res.write(chunk);
      // The last chunk waits until every client has seen body bytes: if the edge buffered the
      // body before passing it on, this would never happen and the test would time out.
      await lastChunk.opened;
      res.end(CHUNKS.at(-1));
    });
    const pending = Array.from({ length: 60 }, () => stream(edge.url, edge.host, '/big'));
    await waitFor(() => edge.app.background.waiting() === 60, 'sixty requests waiting on the fill');
    everyoneHere.open();
    const clients = await Promise.all(pending);
    await Promise.all(clients.map((c) => c.firstByte));
    lastChunk.open();
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
    // The origin answers a group of requests only once the whole group is with it at the same
    // time: had the edge sent them one after another, the first would wait for the others for ever.
    // The first request is answered at once (its private answer goes to it alone); the nineteen
    // it releases are one group; the second wave's twenty (hit-for-miss) another.
    const groups = [gate(), gate()];
    const arrived = [0, 0];
    let n = 0;
    origin.handle(async (_req, res) => {
      const mine = ++n;
      if (mine > 1) {
        const group = mine <= 20 ? 0 : 1;
        arrived[group] = (arrived[group] ?? 0) + 1;
        if (arrived[group] === (group === 0 ? 19 : 20)) groups[group]?.open();
        await groups[group]?.opened;
      }
      res.writeHead(200, { 'cache-control': 'private, max-age=60' });
      res.end(`for request ${mine}`);
    });
    const wave = async () => {
      const clients = await Promise.all(Array.from({ length: 20 }, () => stream(edge.url, edge.host, '/private')));
      return Promise.all(clients.map((c) => c.body));
    };
    const firstBodies = await wave();
    // Every client got a response of its own.
    expect(new Set(firstBodies).size).toBe(20);
    expect(origin.requests).toHaveLength(20);

    // Second wave: hit-for-miss, so all twenty are at the origin at once; nobody waits for anybody.
    const second = await wave();
    expect(new Set(second).size).toBe(20);
    expect(origin.requests).toHaveLength(40);
  });

  test('waiters that differ in a varied header each get their own variant', async ({ edge, origin }) => {
    const everyoneHere = gate();
    origin.handle(async (req, res) => {
      await everyoneHere.opened;
      res.writeHead(200, { 'cache-control': 'max-age=60', vary: 'Accept-Language' });
      res.end(`lang=${req.headers['accept-language']}`);
    });
    const langs = ['fr', 'de', 'fr', 'it', 'de', 'fr'];
    const pending = langs.map((l) => stream(edge.url, edge.host, '/v', { 'accept-language': l }));
    // All six wait on the first fill (the edge does not know the Vary yet) before it answers.
    await waitFor(() => edge.app.background.waiting() === 6, 'six requests waiting on the fill');
    everyoneHere.open();
    const clients = await Promise.all(pending);
    const bodies = await Promise.all(clients.map((c) => c.body));
    expect(bodies).toEqual(langs.map((l) => `lang=${l}`));
    // One fetch per language (the first fill served one of them), never one per request.
    expect(new Set(origin.requests.map((r) => r.headers['accept-language']))).toEqual(new Set(['fr', 'de', 'it']));
    expect(origin.requests.length).toBeLessThanOrEqual(4);
  });

  test('a waiter that disconnects does not disturb the others, and the entry is still stored', async ({
    edge,
    origin,
  }) => {
    const rest = gate();
    origin.handle(async (_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60' });
      res.write(CHUNKS[0]);
      await rest.opened; // the rest once the quitter has gone and the others are reading
      for (const chunk of CHUNKS.slice(1)) res.write(chunk);
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
    await quitter;
    const stayers = await Promise.all(Array.from({ length: 5 }, () => stream(edge.url, edge.host, '/q')));
    rest.open();
    expect(await Promise.all(stayers.map((s) => s.body))).toEqual(Array(5).fill(WHOLE));
    expect((await edge.get('/q')).headers['x-cache-status']).toBe('Hit');
    expect(origin.requests).toHaveLength(1);
  });

  test('an origin failure reaches every waiter as a clean error', async ({ edge, origin }) => {
    const everyoneHere = gate();
    origin.handle(async (req) => {
      await everyoneHere.opened;
      req.socket.destroy();
    });
    const pending = Array.from({ length: 10 }, () => stream(edge.url, edge.host, '/boom'));
    await waitFor(() => edge.app.background.waiting() === 10, 'ten requests waiting on the fill');
    everyoneHere.open();
    const clients = await Promise.all(pending);
    expect(clients.map((c) => c.status)).toEqual(Array(10).fill(502));
    expect(origin.requests).toHaveLength(1);
  });
});
