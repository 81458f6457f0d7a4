/**
 * A slow store is not a silent miss: a lookup Redis does not answer within the read deadline goes
 * to the origin coalesced like any miss, and says so — Cache-Status `fwd=miss; detail=store-timeout`,
 * the service's stats, the metrics, and one throttled warning with a count.
 */
import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { metrics } from '../../../src/metrics/metrics.js';
import { OPERATOR_TOKEN, startAdmin } from '../../helpers/admin.js';
import { startEdge, test } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait.js';

async function timeoutsCounted(service: string): Promise<number> {
  const metric = await metrics.storeLookupFailures.get();
  return metric.values.find((v) => v.labels.service === service && v.labels.reason === 'store-timeout')?.value ?? 0;
}

describe('a store past its read deadline', () => {
  test('is labelled, counted, logged and coalesced', async ({ redis, origin }) => {
    const logLines: Record<string, unknown>[] = [];
    const edge = await startEdge(redis.url, origin.url, {
      l1: false,
      logLines,
      hitFlushMs: 20,
      productionRedis: { readTimeoutMs: 50, readTimeoutMaxMs: 50, commandTimeoutMs: 5000 },
      config: { admin: { tokens: { operator: [OPERATOR_TOKEN] } } },
    });
    const admin = await startAdmin(edge);
    const pauser = new Redis(redis.url);
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    origin.handle(async (_req, res) => {
      await held; // answers once every lookup has given up, so they all find the fill in flight
      res.writeHead(200, { 'cache-control': 'max-age=600' });
      res.end('fresh');
    });
    try {
      await pauser.client('PAUSE', 1500, 'ALL');
      const answers = Promise.all(Array.from({ length: 10 }, () => edge.get('/slow')));
      await waitFor(async () => (await timeoutsCounted(edge.service)) >= 10, 'ten lookups to time out');
      release();
      const sent = await answers;
      expect(origin.requests).toHaveLength(1);
      for (const answer of sent) {
        expect(answer.text).toBe('fresh');
        expect(String(answer.headers['cache-status'])).toMatch(/fwd=miss;.*detail=store-timeout/);
      }
      expect(sent.filter((a) => String(a.headers['cache-status']).includes('collapsed'))).toHaveLength(9);
      const warnings = logLines.filter((l) => l.msg === 'cache lookup timed out; fetching from the origin');
      expect(warnings).toHaveLength(1); // throttled: the next one will carry the count held back
      const stats = await waitFor(async () => {
        const answer = await admin.call('GET', `/v1/services/${edge.service}/stats`);
        return answer.json.storeTimeouts >= 10 && answer.json;
      }, 'the stats to count the timeouts');
      expect(stats.storeTimeouts).toBe(10);
      expect(stats.storeErrors).toBe(0);
    } finally {
      pauser.disconnect();
      await admin.close();
      await edge.close();
    }
  });
});
