import { describe, expect } from 'vitest';
import { test } from '../../helpers/fixtures.js';
import { rawRequest } from '../../helpers/raw.js';

describe('headers crossing the edge', () => {
  test('hop-by-hop and Connection-listed request headers never reach the origin', async ({ edge, origin }) => {
    const reply = await rawRequest(
      edge.url,
      [
        'GET /hop HTTP/1.1',
        `Host: ${edge.host}`,
        'Connection: close, X-Private-Hop',
        'X-Private-Hop: secret',
        'Keep-Alive: timeout=5',
        'TE: trailers',
        'Proxy-Authorization: Basic Zm9vOmJhcg==',
        'Upgrade: h2c',
        'X-End-To-End: kept',
        '',
        '',
      ].join('\r\n'),
    );
    expect(reply).toMatch(/^HTTP\/1\.1 200/);
    const seen = origin.requests[0]?.headers ?? {};
    for (const name of ['x-private-hop', 'keep-alive', 'te', 'proxy-authorization', 'upgrade']) {
      expect(seen[name], name).toBeUndefined();
    }
    expect(seen['x-end-to-end']).toBe('kept');
  });

  test('hop-by-hop and Connection-listed response headers never reach the client', async ({ edge, origin }) => {
    origin.handle((_req, res) => {
      res.setHeader('Connection', 'X-Origin-Hop');
      res.setHeader('X-Origin-Hop', 'internal');
      res.setHeader('Keep-Alive', 'timeout=99');
      res.setHeader('Proxy-Authenticate', 'Basic');
      res.setHeader('Cache-Control', 'max-age=60');
      res.setHeader('X-Kept', 'yes');
      res.end('body');
    });
    for (const expected of ['Miss', 'Hit']) {
      const res = await edge.get('/resp-hop');
      expect(res.headers['x-cache-status']).toBe(expected);
      expect(res.headers['x-origin-hop']).toBeUndefined();
      expect(res.headers['proxy-authenticate']).toBeUndefined();
      expect(res.headers['keep-alive']).not.toBe('timeout=99');
      expect(res.headers['x-kept']).toBe('yes');
    }
  });

  test('the edge writes X-Forwarded-* itself and ignores client copies', async ({ edge, origin }) => {
    await edge.get('/xff', {
      headers: {
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
        forwarded: 'for=6.6.6.6;host=evil.example',
        'x-real-ip': '6.6.6.6',
      },
    });
    const seen = origin.requests[0]?.headers ?? {};
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen['x-forwarded-host']).toBe(edge.host);
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(seen.host).toBe(edge.host);
    expect(seen.forwarded).toBeUndefined();
    expect(seen['x-real-ip']).toBeUndefined();
  });

  test('conditional and range headers are not forwarded on a fill (the edge fetches the whole object)', async ({
    edge,
    origin,
  }) => {
    await edge.get('/full', {
      headers: { 'if-none-match': '"x"', range: 'bytes=0-1', 'if-modified-since': 'Sun, 06 Nov 1994 08:49:37 GMT' },
    });
    const seen = origin.requests[0]?.headers ?? {};
    expect(seen['if-none-match']).toBeUndefined();
    expect(seen.range).toBeUndefined();
    expect(seen['if-modified-since']).toBeUndefined();
  });

  test('an absolute-form target picks the service from its own authority, not the Host header', async ({
    edge,
    origin,
  }) => {
    const reply = await rawRequest(
      edge.url,
      `GET http://${edge.host}/abs?b=1&a=2 HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n`,
    );
    expect(reply).toMatch(/^HTTP\/1\.1 200/);
    expect(origin.requests[0]?.url).toBe('/abs?a=2&b=1');
    expect(origin.requests[0]?.headers.host).toBe(edge.host);
  });
});
