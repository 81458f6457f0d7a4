/**
 * The per-service circuit breaker, shared through Redis: consecutive origin failures open it for
 * every node; while open no request reaches the origin (stale entries answer, others get a fast
 * 503 with Retry-After); after the cooldown one probe goes through and its success closes it.
 */
import { describe, expect } from 'vitest';
import { OPERATOR_TOKEN, startAdmin } from '../../helpers/admin.js';
import { newServiceId, startEdge, test } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait.js';

describe('origin circuit breaker', () => {
  test('opens on every node after consecutive failures, serves stale or fails fast, and closes after a probe', async ({
    redis,
    origin,
  }) => {
    const clock = { now: Date.now() };
    const setup = {
      serviceId: newServiceId(),
      now: () => clock.now,
      l1: false,
      config: { admin: { tokens: { operator: [OPERATOR_TOKEN] } } },
      service: { origin: { circuitBreaker: { failures: 3, cooldownMs: 60_000 } } },
    };
    const a = await startEdge(redis.url, origin.url, setup);
    const b = await startEdge(redis.url, origin.url, setup);
    const admin = await startAdmin(a);
    let healthy = true;
    origin.handle((_req, res) => {
      res.writeHead(healthy ? 200 : 503, { 'cache-control': 'max-age=10', date: new Date(clock.now).toUTCString() });
      res.end(healthy ? 'fine' : 'down');
    });
    try {
      await a.get('/cached');
      healthy = false;
      for (let i = 0; i < 3; i++) expect((await a.get(`/miss-${i}`)).status).toBe(503); // the origin's own 503s
      const seen = origin.requests.length;

      // Open: node a refuses at once, without asking the origin.
      const fast = await a.get('/miss-x');
      expect(fast.status).toBe(503);
      expect(fast.text).toContain('CF_ERR_ORIGIN_DOWN');
      expect(Number(fast.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(fast.headers['cache-status']).toContain('detail=origin-circuit-open');
      // Node b learns it from Redis: at most the one request that was already on its way.
      for (let i = 0; i < 5; i++) await b.get(`/miss-b-${i}`);
      expect(origin.requests.length).toBeLessThanOrEqual(seen + 1);
      const onB = await b.get('/miss-b-last');
      expect(onB.text).toContain('CF_ERR_ORIGIN_DOWN');
      // A stale entry answers instead (its grace is a day by default).
      clock.now += 20_000;
      const stale = await b.get('/cached');
      expect(stale.status).toBe(200);
      expect(stale.text).toBe('fine');
      expect(stale.headers['x-cache-status']).toBe('Stale');
      expect(stale.headers['cache-status']).toContain('detail=origin-circuit-open');
      const openState = (await admin.call('GET', `/v1/services/${a.service}/origin`)).json;
      expect(openState.state).toBe('open');
      expect(Date.parse(openState.openUntil)).toBeGreaterThan(clock.now);
      expect(openState.failures).toBeGreaterThanOrEqual(3);
      const stats = (await admin.call('GET', `/v1/services/${a.service}/stats`)).json;
      expect(stats.origin.failures).toBeGreaterThanOrEqual(3);
      expect(origin.requests.length).toBeLessThanOrEqual(seen + 1);

      // After the cooldown, one probe goes; the origin is back, so the circuit closes for all.
      clock.now += 60_000;
      healthy = true;
      const probe = await a.get('/probe');
      expect(probe.status).toBe(200);
      // The success reaches Redis.
      await waitFor(
        async () => (await admin.call('GET', `/v1/services/${a.service}/origin`)).json.state === 'closed',
        'the circuit to close in Redis',
      );
      expect((await admin.call('GET', `/v1/services/${a.service}/origin`)).json).toMatchObject({
        state: 'closed',
        failures: 0,
        openUntil: null,
      });
      // b re-reads the shared state (at most once a second of its clock) and lets requests through.
      clock.now += 2_000;
      const after = await waitFor(async () => {
        const sent = await b.get('/after');
        return sent.status === 200 && sent;
      }, 'node b to see the circuit closed');
      expect(after.status).toBe(200);
    } finally {
      await admin.close();
      await a.close();
      await b.close();
    }
  });

  test('a failed probe opens the circuit again; a disabled breaker always asks the origin', async ({
    redis,
    origin,
  }) => {
    const clock = { now: Date.now() };
    origin.handle((_req, res) => {
      res.writeHead(502);
      res.end('bad gateway');
    });
    const guarded = await startEdge(redis.url, origin.url, {
      now: () => clock.now,
      l1: false,
      service: { origin: { circuitBreaker: { failures: 2, cooldownMs: 1_000 } } },
    });
    const open = await startEdge(redis.url, origin.url, {
      now: () => clock.now,
      l1: false,
      service: { origin: { circuitBreaker: { enabled: false } } },
    });
    try {
      await guarded.get('/1');
      await guarded.get('/2');
      expect((await guarded.get('/3')).text).toContain('CF_ERR_ORIGIN_DOWN');
      clock.now += 1_500;
      const before = origin.requests.length;
      expect((await guarded.get('/probe')).status).toBe(502); // the probe reached the origin
      expect(origin.requests.length).toBe(before + 1);
      // The failed probe opened the circuit again, on this node at once.
      expect((await guarded.get('/again')).text).toContain('CF_ERR_ORIGIN_DOWN');
      expect(origin.requests.length).toBe(before + 1);

      for (let i = 0; i < 5; i++) expect((await open.get(`/o${i}`)).status).toBe(502);
      expect(origin.requests.length).toBe(before + 6);
    } finally {
      await guarded.close();
      await open.close();
    }
  });
});
