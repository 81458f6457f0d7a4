/**
 * Coalescing across the fleet: two edge nodes sharing one Redis make one origin fetch for a burst
 * of cold requests; a `no-store` answer releases the other node's waiters at once; a holder that
 * died leaves its lease to expire, and the waiter then fetches for itself.
 */
import { describe, expect } from 'vitest';
import { primaryKey } from '../../../src/key/cache-key.js';
import { FILL_CHANNEL, fillKeys } from '../../../src/store/keys.js';
import { newServiceId, startEdge, type TestEdge, test } from '../../helpers/fixtures.js';
import { stream } from '../../helpers/http.js';
import { gate, waitFor } from '../../helpers/wait.js';

async function twoNodes(
  redisUrl: string,
  originUrl: string,
  service: Record<string, unknown> = {},
): Promise<[TestEdge, TestEdge]> {
  const serviceId = newServiceId();
  const setup = { serviceId, service };
  return [await startEdge(redisUrl, originUrl, setup), await startEdge(redisUrl, originUrl, setup)];
}

/** The hash a path's variant is stored (and its fill leased) under, for a URL that varies on nothing. */
function burstHash(edge: TestEdge, path: string): string {
  return primaryKey({
    service: edge.service,
    scheme: 'http',
    authority: edge.host,
    methodClass: 'GET',
    path,
    query: '',
  }).hash;
}

const waiting = (nodes: TestEdge[]) => nodes.reduce((n, edge) => n + edge.app.background.waiting(), 0);

describe('coalescing across the fleet', () => {
  test('a burst of cold requests over two nodes makes one origin fetch', async ({ redis, origin }) => {
    const answer = gate();
    origin.handle(async (req, res) => {
      await answer.opened;
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600' });
      res.end(`one body for ${req.url}`);
    });
    const nodes = await twoNodes(redis.url, origin.url);
    try {
      const sent = Array.from({ length: 20 }, (_, i) => (nodes[i % 2] as TestEdge).get('/burst'));
      await waitFor(() => waiting(nodes) === 20, 'every request to wait for the one fill');
      // A slow origin: the holder renews its lease while it waits, and the other node keeps waiting.
      const lease = fillKeys(nodes[0]?.service as string, burstHash(nodes[0] as TestEdge, '/burst')).lease;
      const client = redis.client();
      let lowest = Number.POSITIVE_INFINITY;
      await waitFor(
        async () => {
          const ttl = await client.pttl(lease);
          lowest = Math.min(lowest, ttl);
          return ttl > lowest + 200; // it went down, then back up: renewed
        },
        'the holder to renew its lease',
        { timeoutMs: 15_000, intervalMs: 50 },
      );
      expect(waiting(nodes)).toBe(20);
      expect(origin.requestsFor('/burst')).toHaveLength(1);
      answer.open();
      const answers = await Promise.all(sent);
      expect(origin.requestsFor('/burst')).toHaveLength(1);
      for (const a of answers) {
        expect(a.status).toBe(200);
        expect(a.text).toBe('one body for /burst');
      }
      // The node that lost the claim answered from what the other stored.
      const fleet = answers.filter((a) => String(a.headers['cache-status']).includes('detail=fleet'));
      expect(fleet).toHaveLength(10);
      for (const a of fleet) expect(a.headers['cache-status']).toContain('collapsed');
    } finally {
      await Promise.all(nodes.map((edge) => edge.close()));
    }
  });

  test('a no-store answer releases the other node’s waiters at once: they fetch on their own', async ({
    redis,
    origin,
  }) => {
    const answer = gate();
    origin.handle(async (req, res) => {
      await answer.opened;
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
      res.end(`private ${req.url}`);
    });
    // A lease far longer than the test may run: only the announcement can release the waiters.
    const nodes = await twoNodes(redis.url, origin.url, { origin: { responseTimeoutMs: 600_000 } });
    try {
      const sent = Array.from({ length: 10 }, (_, i) => (nodes[i % 2] as TestEdge).get('/nostore'));
      await waitFor(() => waiting(nodes) === 10, 'every request to wait for the one fill');
      answer.open();
      const answers = await Promise.all(sent);
      for (const a of answers) {
        expect(a.status).toBe(200);
        expect(a.headers['x-cache-status']).toBe('Bypass');
      }
      // One fetch for the holder's node, then one per request of the other node, made on its own.
      expect(origin.requestsFor('/nostore').length).toBeGreaterThanOrEqual(6);
    } finally {
      await Promise.all(nodes.map((edge) => edge.close()));
    }
  });

  test('a holder that died: its lease expires and the waiter fetches for itself', async ({ redis, origin }) => {
    origin.handle((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600' });
      res.end(`fetched ${req.url}`);
    });
    // Origin timeouts far longer than the test: only the lease's end can release the waiter.
    const node = await startEdge(redis.url, origin.url, {
      service: { origin: { responseTimeoutMs: 600_000 } },
    });
    try {
      // A node claimed /orphan and died: nobody renews its lease, which ends 1.2 s from now.
      const primary = { hash: burstHash(node, '/orphan') };
      await redis.client().set(fillKeys(node.service, primary.hash).lease, '1', 'PX', 1200);
      const sent = node.get('/orphan');
      // It waits for the holder rather than fetching at once…
      await waitFor(
        () => node.app.background.waiting() === 1 && origin.requestsFor('/orphan').length === 0,
        'the request to wait for the lease',
      );
      // …and fetches for itself once it sees the lease gone (it checks every second).
      const answer = await sent;
      expect(answer.status).toBe(200);
      expect(answer.text).toBe('fetched /orphan');
      expect(origin.requestsFor('/orphan')).toHaveLength(1);
      expect(answer.headers['cache-status']).not.toContain('detail=fleet');
    } finally {
      await node.close();
    }
  });

  test('the other node streams the holder’s response as it lands, before the origin has finished', async ({
    redis,
    origin,
  }) => {
    const first = gate();
    const rest = gate();
    origin.handle(async (_req, res) => {
      await first.opened;
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600' });
      res.write('first part;');
      await rest.opened;
      res.end('second part');
    });
    const [a, b] = await twoNodes(redis.url, origin.url);
    try {
      const [fromA, fromB] = [stream(a.url, a.host, '/relay'), stream(b.url, b.host, '/relay')];
      await waitFor(() => waiting([a, b]) === 2, 'both requests to wait for the one fill');
      first.open();
      // Both clients get the first part while the origin still holds the second.
      const [streamA, streamB] = await Promise.all([fromA, fromB]);
      expect(await streamA.firstByte).toBe('first part;');
      expect(await streamB.firstByte).toBe('first part;');
      rest.open();
      expect(await streamA.body).toBe('first part;second part');
      expect(await streamB.body).toBe('first part;second part');
      expect(origin.requestsFor('/relay')).toHaveLength(1);
      // One of them was the holder's own client; the other was relayed through Redis.
      const relayed = [streamA, streamB].filter((w) => String(w.headers['cache-status']).includes('detail=fleet'));
      expect(relayed).toHaveLength(1);
      expect(relayed[0]?.headers['cache-status']).toContain('collapsed');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('a holder that dies midway through its relay: the other node cuts its clients off, never leaves them hanging', async ({
    redis,
    origin,
  }) => {
    const node = await startEdge(redis.url, origin.url);
    const client = redis.client();
    try {
      // Another node claimed /half, relayed its head and a first chunk, and died (its lease ends soon).
      const keys = fillKeys(node.service, burstHash(node, '/half'));
      await client.set(keys.lease, '1', 'PX', 1500);
      const sent = stream(node.url, node.host, '/half');
      await waitFor(() => node.app.background.waiting() === 1, 'the request to wait for the other node');
      const head = {
        status: 200,
        originStatus: 200,
        headers: { 'content-type': 'text/plain', 'cache-control': 'max-age=600' },
        entryKey: burstHash(node, '/half'),
        variant: [],
        varyNames: [],
        originMs: 5,
      };
      const notice = JSON.stringify({ service: node.service, entry: burstHash(node, '/half'), outcome: 'flight' });
      await client.xadd(keys.flight, '*', 'h', JSON.stringify(head));
      await client.xadd(keys.flight, '*', 'c', 'the first half;');
      await client.publish(FILL_CHANNEL, notice);
      const answer = await sent;
      expect(answer.status).toBe(200);
      expect(await answer.firstByte).toBe('the first half;');
      // The lease ends and nothing more comes: the response is cut off, not left open.
      await expect(answer.body).rejects.toThrow();
      expect(origin.requestsFor('/half')).toHaveLength(0);
    } finally {
      await node.close();
    }
  });
});
