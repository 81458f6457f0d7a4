/**
 * Operators' cache rules through a real edge (docs/rules.md): each action as a client and the
 * origin see it, and how it meets the HTTP caching rules.
 */
import { describe, expect } from 'vitest';
import { OPERATOR_TOKEN, startAdmin } from '../../helpers/admin.js';
import { startEdge, test } from '../../helpers/fixtures.js';
import type { TestOrigin } from '../../helpers/origin.js';

/** An origin that answers every path cacheably for a minute, counting requests per path. */
function cacheableOrigin(origin: TestOrigin, headers: Record<string, string> = {}) {
  origin.handle((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60', ...headers });
    res.end(`origin ${req.url}`);
  });
  return (path: string) => origin.requests.filter((r) => r.url === path).length;
}

describe('cache rules', () => {
  test('bypass: neither looked up nor stored, and said so', async ({ redis, origin }) => {
    const fetched = cacheableOrigin(origin);
    const edge = await startEdge(redis.url, origin.url, {
      service: {
        rules: [
          { name: 'errors', match: { status: [404] }, edgeTtl: '1m' },
          { name: 'no cart', match: { prefix: '/cart' }, bypass: true },
        ],
      },
      config: { admin: { tokens: { operator: [OPERATOR_TOKEN] } } },
    });
    const admin = await startAdmin(edge);
    try {
      // explain names the rule and why, without contacting the origin.
      const explained = await admin.call('POST', '/v1/explain', { url: `http://${edge.host}/cart/items` });
      expect(explained.json.rules.request).toMatchObject({ name: 'no cart', match: { prefix: '/cart' } });
      expect(explained.json.rules.candidates.map((r: { name: string }) => r.name)).toEqual(['errors', 'no cart']);
      expect(explained.json.states).toEqual(['recv', 'pass:rule', 'deliver:pass']);
      expect(origin.requests).toHaveLength(0);
      for (let i = 0; i < 2; i++) {
        const answer = await edge.get('/cart/items');
        expect(answer.text).toBe('origin /cart/items');
        expect(answer.headers['cache-status']).toContain('fwd=bypass');
        expect(answer.headers['cache-status']).toContain('detail="rule no cart"');
      }
      expect(fetched('/cart/items')).toBe(2);
      await edge.get('/shop');
      expect((await edge.get('/shop')).headers['x-cache-status']).toBe('Hit');
      expect(fetched('/shop')).toBe(1);
    } finally {
      await admin.close();
      await edge.close();
    }
  });
});
