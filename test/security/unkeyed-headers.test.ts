/**
 * Web cache poisoning through unkeyed inputs: an origin (or its framework) that builds links from
 * X-Forwarded-Host, or obeys method overrides, would otherwise let one request plant a response
 * that every later visitor gets.
 */
import { describe, expect } from 'vitest';
import { UNKEYED_OVERRIDES } from '../../src/pipeline/unkeyed-headers.js';
import { startEdge, test } from '../helpers/fixtures.js';

/** An origin that trusts override headers, as many frameworks do. */
function gullibleOrigin(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) {
  const host =
    req.headers['x-forwarded-host'] ?? req.headers['x-host'] ?? req.headers['x-original-host'] ?? req.headers.host;
  const override =
    req.headers['x-http-method-override'] ?? req.headers['x-http-method'] ?? req.headers['x-method-override'];
  const path = req.headers['x-original-url'] ?? req.headers['x-rewrite-url'] ?? req.url;
  if (override) {
    res.writeHead(405, { 'cache-control': 'max-age=600' });
    return void res.end('method not allowed');
  }
  res.writeHead(200, { 'cache-control': 'max-age=600', 'content-type': 'text/html' });
  res.end(`<script src="//${host}/app.js"></script> path=${path}`);
}

describe('unkeyed request headers', () => {
  test.for([...UNKEYED_OVERRIDES].filter((h) => h !== 'via'))(
    '%s never reaches the origin, and cannot poison the entry',
    async (header, { edge, origin }) => {
      origin.handle(gullibleOrigin);
      const attack = await edge.get('/page', { headers: { [header]: 'evil.example' } });
      expect(attack.text).not.toContain('evil.example');
      const victim = await edge.get('/page');
      expect(victim.status).toBe(200);
      expect(victim.text).toBe(`<script src="//${edge.host}/app.js"></script> path=/page`);
      for (const seen of origin.requests) {
        const value = seen.headers[header];
        expect(value === undefined || !String(value).includes('evil.example')).toBe(true);
      }
    },
  );

  test('a service that needs one declares it: it is forwarded and keyed', async ({ redis, origin }) => {
    origin.handle(gullibleOrigin);
    const edge = await startEdge(redis.url, origin.url, { service: { key: { headers: ['X-Forwarded-Host'] } } });
    try {
      const attack = await edge.get('/page', { headers: { 'x-forwarded-host': 'evil.example' } });
      expect(attack.text).toContain('evil.example'); // the attacker only poisons their own variant
      const victim = await edge.get('/page');
      expect(victim.text).toBe(`<script src="//${edge.host}/app.js"></script> path=/page`);
      expect(victim.headers['x-cache-status']).toBe('Miss');
      expect(
        (await edge.get('/page', { headers: { 'x-forwarded-host': 'evil.example' } })).headers['x-cache-status'],
      ).toBe('Hit');
    } finally {
      await edge.close();
    }
  });
});
