/** WAAP basics: CIDR allow/deny lists, the trusted-proxy rule for client addresses, rate limits. */
import { describe, expect } from 'vitest';
import { startEdge, test } from '../helpers/fixtures.js';

describe('access lists', () => {
  test('a denied address gets 403 with a clear body; the origin is never contacted', async ({ redis, origin }) => {
    const edge = await startEdge(redis.url, origin.url, { service: { waap: { deny: ['127.0.0.0/8'] } } });
    try {
      const res = await edge.get('/');
      expect(res.status).toBe(403);
      expect(res.text).toContain('CF_ERR_FORBIDDEN');
      expect(origin.requests).toHaveLength(0);
    } finally {
      await edge.close();
    }
  });

  test('with an allow list, only those blocks are served', async ({ redis, origin }) => {
    const closed = await startEdge(redis.url, origin.url, {
      service: { waap: { allow: ['10.0.0.0/8', '2001:db8::/32'] } },
    });
    const open = await startEdge(redis.url, origin.url, { service: { waap: { allow: ['127.0.0.1'] } } });
    try {
      expect((await closed.get('/')).status).toBe(403);
      expect((await open.get('/')).status).toBe(200);
    } finally {
      await closed.close();
      await open.close();
    }
  });
});

describe('client address behind proxies', () => {
  test('X-Forwarded-For is believed only from a trusted proxy, hop by hop from the right', async ({
    redis,
    origin,
  }) => {
    const behindLb = await startEdge(redis.url, origin.url, {
      config: { edge: { trustedProxies: ['127.0.0.1/32', '192.0.2.0/24'] } },
      service: { waap: { deny: ['203.0.113.0/24'] } },
    });
    const direct = await startEdge(redis.url, origin.url, { service: { waap: { deny: ['203.0.113.0/24'] } } });
    try {
      expect((await behindLb.get('/a', { headers: { 'x-forwarded-for': '203.0.113.9' } })).status).toBe(403);
      expect((await behindLb.get('/b', { headers: { 'x-forwarded-for': '203.0.113.9, 192.0.2.7' } })).status).toBe(403);
      // a client cannot hide behind an address it wrote itself: the rightmost untrusted hop counts
      const spoof = await behindLb.get('/c', { headers: { 'x-forwarded-for': '203.0.113.9, 198.51.100.1' } });
      expect(spoof.status).toBe(200);
      expect(origin.requestsFor('/c')[0]?.headers['x-forwarded-for']).toBe('198.51.100.1');
      // without trusted proxies the header is a client's claim and is ignored
      const ignored = await direct.get('/d', { headers: { 'x-forwarded-for': '203.0.113.9' } });
      expect(ignored.status).toBe(200);
      expect(origin.requestsFor('/d')[0]?.headers['x-forwarded-for']).toBe('127.0.0.1');
    } finally {
      await behindLb.close();
      await direct.close();
    }
  });
});

describe('rate limits', () => {
  test('per client, shared by every edge node on the Redis, with 429 and Retry-After', async ({ redis, origin }) => {
    const service = { waap: { rateLimit: { requests: 4, windowMs: '10s' } } };
    const nodeA = await startEdge(redis.url, origin.url, { service });
    // the second node serves the same service id: build it from the first one's config
    const nodeB = await startEdge(redis.url, origin.url, { service, serviceId: nodeA.service });
    try {
      expect((await nodeA.get('/1')).status).toBe(200);
      expect((await nodeB.get('/2')).status).toBe(200);
      expect((await nodeA.get('/3')).status).toBe(200);
      expect((await nodeB.get('/4')).status).toBe(200);
      const limited = await nodeA.get('/5');
      expect(limited.status).toBe(429);
      expect(limited.text).toContain('CF_ERR_RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect((await nodeB.get('/6')).status).toBe(429);
      expect(origin.requests).toHaveLength(4);
    } finally {
      await nodeA.close();
      await nodeB.close();
    }
  });
});
