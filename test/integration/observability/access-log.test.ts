/**
 * One JSON access-log line per request: service, cache status, key hash, status, bytes, times —
 * and never a token, a cookie, an Authorization value, or the query string that may carry them.
 */
import { describe, expect } from 'vitest';
import { startEdge, test } from '../../helpers/fixtures.js';
import { settled, waitFor } from '../../helpers/wait.js';

describe('access log', () => {
  test('a line per request with what operators need and nothing secret', async ({ redis, origin }) => {
    const logLines: Record<string, unknown>[] = [];
    const edge = await startEdge(redis.url, origin.url, { logLines });
    try {
      const cookie = { cookie: 'session=cookie-secret-123' };
      await edge.get('/page?token=query-secret-789');
      await settled(edge);
      // A visitor with a cookie is served the stored page; its cookie is not logged.
      await edge.get('/page?token=query-secret-789', { headers: cookie });
      await edge.get('/private', { headers: { authorization: 'Bearer auth-secret-456' } });
      await edge.get('/nowhere', { headers: { host: 'unknown.example' } });
      const access = await waitFor(() => {
        const lines = logLines.filter((line) => line.access === true);
        return lines.length >= 4 && lines;
      }, 'four access lines');
      expect(access).toHaveLength(4);
      const [miss, hit, bypass, unknown] = access;
      expect(miss).toMatchObject({
        service: edge.service,
        method: 'GET',
        path: '/page',
        cacheStatus: 'Miss',
        status: 200,
        bytes: expect.any(Number),
        durationMs: expect.any(Number),
        originMs: expect.any(Number),
      });
      expect(String(miss?.key)).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      expect(hit).toMatchObject({ service: edge.service, cacheStatus: 'Hit', status: 200, originMs: null });
      expect(hit?.key).toBe(miss?.key);
      expect(bypass).toMatchObject({ cacheStatus: 'Bypass', status: 200, path: '/private' });
      expect(unknown).toMatchObject({ service: 'none', status: 421, error: 'CF_ERR_UNKNOWN_SERVICE' });
      const text = JSON.stringify(logLines);
      for (const secret of ['cookie-secret-123', 'auth-secret-456', 'query-secret-789'])
        expect(text).not.toContain(secret);
    } finally {
      await edge.close();
    }
  });

  test('at debug level, each request logs the states the pipeline took', async ({ redis, origin }) => {
    const logLines: Record<string, unknown>[] = [];
    const edge = await startEdge(redis.url, origin.url, { logLines, logLevel: 'debug' });
    try {
      await edge.get('/traced');
      await settled(edge);
      await edge.get('/traced');
      await edge.get('/traced', { headers: { 'cache-control': 'only-if-cached, max-age=0' } });
      await edge.get('/traced', { method: 'POST', body: 'x' });
      const traced = await waitFor(() => {
        const lines = logLines.filter((line) => line.msg === 'pipeline');
        return lines.length >= 4 && lines;
      }, 'four pipeline lines');
      expect(traced.map((line) => line.states)).toEqual([
        'recv > lookup:miss > miss > fill > deliver:stored',
        'recv > lookup:hit > fresh > deliver:hit',
        'recv > lookup:hit > not-cached',
        'recv > pass',
      ]);
      expect(traced[0]).toMatchObject({ service: edge.service, key: expect.any(String) });
    } finally {
      await edge.close();
    }
  });
});
