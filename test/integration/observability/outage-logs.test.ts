/**
 * An operator can see an origin outage in the logs and the stats: one warning when the circuit
 * opens and one when it closes, origin failures as throttled warnings per service, the edge's own
 * 5xx answers counted, and stale answers kept apart from hits so the hit ratio does not rise.
 */
import { describe, expect } from 'vitest';
import { OPERATOR_TOKEN, startAdmin } from '../../helpers/admin.js';
import { startEdge, test } from '../../helpers/fixtures.js';
import { settled, waitFor } from '../../helpers/wait.js';

describe('an origin outage as an operator sees it', () => {
  test('circuit opened and closed once each, failures throttled, errors and stale answers counted', async ({
    redis,
    origin,
  }) => {
    const clock = { now: Date.now() };
    const logLines: Record<string, unknown>[] = [];
    const edge = await startEdge(redis.url, origin.url, {
      now: () => clock.now,
      logLines,
      hitFlushMs: 20,
      service: { origin: { circuitBreaker: { failures: 3, cooldownMs: 1000 } } },
      config: { admin: { tokens: { operator: [OPERATOR_TOKEN] } } },
    });
    const admin = await startAdmin(edge);
    const stats = async () => (await admin.call('GET', `/v1/services/${edge.service}/stats`)).json;
    const lines = (msg: string) => logLines.filter((line) => String(line.msg).startsWith(msg));
    let down = false;
    origin.handle((_req, res) => {
      if (down) return void res.writeHead(503).end('down');
      res.writeHead(200, { 'cache-control': 'max-age=10, stale-if-error=3600' });
      res.end('page');
    });
    try {
      await edge.get('/page');
      await settled(edge);
      expect((await edge.get('/page')).headers['x-cache-status']).toBe('Hit');
      const before = await waitFor(async () => {
        const s = await stats();
        return s.hits === 1 && s;
      }, 'the hit to be counted');

      // The outage: the stored page is stale, the origin answers 503.
      down = true;
      clock.now += 60_000;
      const answers = [];
      for (let i = 0; i < 10; i++) answers.push(await edge.get(i % 2 ? '/page' : `/new-${i}`));
      expect(answers.filter((a) => a.text === 'page').every((a) => a.headers['x-cache-status'] === 'Stale')).toBe(true);
      await waitFor(() => lines('origin circuit opened').length === 1, 'the circuit to open');
      // The edge's own 5xx (the circuit open: CF_ERR_ORIGIN_DOWN), not the origin's relayed ones.
      const ownErrors = answers.filter((a) => a.text.includes('CF_ERR_ORIGIN_DOWN')).length;
      expect(ownErrors).toBeGreaterThan(0);
      expect(lines('origin request failed')).toHaveLength(1); // throttled: one per service per interval
      expect(lines('origin request failed')[0]).toMatchObject({ service: edge.service, status: 503 });

      const during = await waitFor(async () => {
        const s = await stats();
        return s.staleServed === 5 && s.errors === ownErrors && s;
      }, 'the stale answers and errors to be counted');
      // Stale answers are not hits: the hit ratio does not rise during the outage.
      expect(during.hits).toBe(before.hits);
      expect(during.hitRatio).toBeLessThanOrEqual(before.hitRatio);

      // The origin is back; after the cooldown one probe closes the circuit.
      down = false;
      clock.now += 2_000;
      await waitFor(async () => {
        await edge.get('/probe');
        return lines('origin circuit closed').length === 1;
      }, 'the circuit to close');
      expect(lines('origin circuit opened')).toHaveLength(1);
      expect(lines('origin circuit closed')[0]).toMatchObject({ level: 40, service: edge.service });
    } finally {
      await admin.close();
      await edge.close();
    }
  });
});
