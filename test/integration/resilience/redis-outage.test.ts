/**
 * Redis killed and restarted under traffic: every request gets an answer (nothing hangs, nothing
 * crashes), objects a node holds in its L1 keep being served from it, and the edge reconnects by
 * itself when Redis is back.
 */
import { describe, expect } from 'vitest';
import { startLocalRedis } from '../../../src/redis/local-server.js';
import { startEdge, test } from '../../helpers/fixtures.js';
import type { Sent } from '../../helpers/http.js';
import { settled, waitFor } from '../../helpers/wait.js';

describe('Redis outage', () => {
  test('the edge answers every request while Redis is down, serves its L1, and reconnects', async ({ origin }) => {
    let server = await startLocalRedis();
    const port = server.port;
    origin.handle((req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=300', 'content-type': 'text/plain' });
      res.end(`origin ${req.url}`);
    });
    // A short L1 lifetime, so only the outage retention can explain hits from it later on.
    const edge = await startEdge(server.url, origin.url, {
      l1TtlMs: 200,
      productionRedis: { readTimeoutMs: 50, commandTimeoutMs: 200 },
    });
    const answers: { phase: string; path: string; sent: Sent }[] = [];
    let phase = 'before';
    let running = true;
    let n = 0;
    const traffic = (async () => {
      while (running) {
        const path = n % 2 === 0 ? '/hot' : `/cold-${n}`;
        n++;
        const sent = await edge.get(path);
        answers.push({ phase, path, sent });
        await new Promise((r) => setImmediate(r)); // let the rest of the test run between requests
      }
    })();
    try {
      await edge.get('/hot');
      await settled(edge);
      // A hit read back from Redis: what the L1 admits (it keeps what its node reads, not what it stores).
      expect((await edge.get('/hot')).headers['x-cache-status']).toBe('Hit');

      phase = 'down';
      const killed = new Promise((r) => server.process.once('exit', r));
      server.process.kill('SIGKILL'); // Redis gone, no goodbye
      await killed;
      await server.stop();
      // Long enough for /hot to outlive its L1 lifetime (200 ms) several times over, under traffic.
      const downSince = Date.now();
      await waitFor(
        () =>
          Date.now() - downSince > 1000 && answers.filter((a) => a.phase === 'down' && a.path === '/hot').length > 10,
        'traffic through the outage',
      );

      phase = 'back';
      server = await startLocalRedis({ port }); // an empty Redis where the old one was
      // The edge reconnects by itself and stores into the new Redis again.
      const client = edge.redis;
      await waitFor(
        async () => (await client.keys(`cf:{${edge.service}}:e:*`).catch(() => [])).length > 0,
        'the edge to store into the new Redis',
      );
      running = false;
      await traffic;

      // Every request was answered, with the origin's body or from the cache.
      expect(answers.length).toBeGreaterThan(50);
      for (const { path, sent } of answers) {
        expect(sent.status, path).toBe(200);
        expect(sent.text).toBe(`origin ${path}`);
      }
      // While Redis was down, /hot kept coming from this node's L1, past the L1's own lifetime.
      const hotDown = answers.filter((a) => a.phase === 'down' && a.path === '/hot');
      expect(hotDown.length).toBeGreaterThan(10);
      expect(hotDown.filter((a) => a.sent.headers['x-cache-status'] === 'Hit').length).toBe(hotDown.length);
      // Back: the edge reconnected by itself and stores into the new Redis again.
      const fresh = await edge.get('/after-outage');
      expect(fresh.status).toBe(200);
      await settled(edge);
      expect((await edge.get('/after-outage')).headers['x-cache-status']).toBe('Hit');
    } finally {
      running = false;
      await traffic.catch(() => undefined);
      await edge.close();
      await server.stop();
    }
  });
});
