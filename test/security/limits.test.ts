/** Request limits: oversized requests are refused up front with the right status, clearly. */
import { describe, expect } from 'vitest';
import { startEdge, test } from '../helpers/fixtures.js';
import { rawRequest, statusOf } from '../helpers/raw.js';

describe('request limits', () => {
  test.afterEach(async ({ edge }) => {
    // after every refused request, a clean one still gets the origin's genuine response
    const victim = await edge.get('/victim');
    expect(victim.status).toBe(200);
    expect(victim.text).toBe('origin says hello to /victim');
  });

  test('an overlong URL gets 414', async ({ edge, origin }) => {
    const res = await edge.get(`/${'a'.repeat(9000)}`);
    expect(res.status).toBe(414);
    expect(res.text).toContain('CF_ERR_URL_TOO_LONG');
    expect(origin.requests).toHaveLength(0);
  });

  test('too many header fields get 431', async ({ edge, origin }) => {
    const headers = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`x-h${i}`, '1']));
    const res = await edge.get('/', { headers });
    expect(res.status).toBe(431);
    expect(res.text).toContain('CF_ERR_TOO_MANY_HEADERS');
    expect(origin.requests).toHaveLength(0);
  });

  test.for([
    ['a header', (host: string) => `GET / HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`],
    ['the request line', (host: string) => `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: ${host}\r\n\r\n`],
  ] as const)(
    "an oversized %s gets the edge's own 431, refused by the HTTP parser",
    async ([, build], { edge, origin }) => {
      const reply = await rawRequest(edge.url, build(edge.host));
      expect(statusOf(reply)).toBe(431);
      // The edge's error format (plain text naming the code), never the framework's JSON.
      expect(reply).toContain('code: CF_ERR_HEADERS_TOO_LARGE');
      expect(reply.toLowerCase()).toContain('content-type: text/plain; charset=utf-8');
      expect(reply.toLowerCase()).toContain('cache-control: no-store');
      expect(reply).not.toContain('{"error"');
      expect(origin.requests).toHaveLength(0);
    },
  );

  test('a body over the limit gets 413, declared or chunked', async ({ redis, origin }) => {
    const edge = await startEdge(redis.url, origin.url, { config: { edge: { maxBodyBytes: 1024 } } });
    try {
      const declared = await edge.get('/upload', { method: 'POST', body: Buffer.alloc(2048) });
      expect(declared.status).toBe(413);
      expect(declared.text).toContain('CF_ERR_BODY_TOO_LARGE');
      const chunked = await rawRequest(
        edge.url,
        `POST /upload HTTP/1.1\r\nHost: ${edge.host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n800\r\n${'c'.repeat(2048)}\r\n0\r\n\r\n`,
      );
      expect(statusOf(chunked)).toBe(413);
      const small = await edge.get('/upload', { method: 'POST', body: 'small' });
      expect(small.status).toBe(200);
    } finally {
      await edge.close();
    }
  });
});
