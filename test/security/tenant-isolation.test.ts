/**
 * Tenant isolation: two services on one Redis with identical paths. No request for one may read,
 * write or invalidate the other's entries, whatever it does with Host.
 */
import { describe, expect } from 'vitest';
import { startEdge, test } from '../helpers/fixtures.js';
import { send } from '../helpers/http.js';
import { startOrigin } from '../helpers/origin.js';
import { rawRequest } from '../helpers/raw.js';

describe('tenant isolation', () => {
  test('identical paths on two services never share or leak entries', async ({ redis, origin }) => {
    const other = await startOrigin((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=600' });
      res.end('tenant B secret');
    });
    origin.handle((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=600' });
      res.end('tenant A page');
    });
    const a = await startEdge(redis.url, origin.url);
    const b = await startEdge(redis.url, other.url);
    try {
      await b.get('/same'); // B's entry is stored first
      const fromA = await a.get('/same');
      expect(fromA.text).toBe('tenant A page');
      expect(fromA.headers['x-cache-status']).toBe('Miss');
      // Host tricks on A's listener: B's host with a port, absolute-form, X-Forwarded-Host
      const portTrick = await send(a.url, {
        path: '/same',
        headers: { host: `${a.host}:8080`, 'x-forwarded-host': b.host },
      });
      expect(portTrick.text).toBe('tenant A page');
      const absolute = await rawRequest(
        a.url,
        `GET http://${a.host}/same HTTP/1.1\r\nHost: ${b.host}\r\nConnection: close\r\n\r\n`,
      );
      expect(absolute).toContain('tenant A page');
      // Every key either edge wrote lives under its own service's hash tag.
      const client = redis.client();
      const keysA = await client.keys(`cf:{${a.service}}:*`);
      const keysB = await client.keys(`cf:{${b.service}}:*`);
      expect(keysA.length).toBeGreaterThan(0);
      expect(keysB.length).toBeGreaterThan(0);
      expect(keysA.some((k) => keysB.includes(k))).toBe(false);
      // An unsafe request on A invalidates A's entry only.
      await a.get('/same', { method: 'DELETE' });
      expect((await b.get('/same')).headers['x-cache-status']).toBe('Hit');
    } finally {
      await a.close();
      await b.close();
      await other.close();
    }
  });

  test('a Location pointing at another tenant never invalidates its entries', async ({ redis, origin }) => {
    const other = await startOrigin();
    const b = await startEdge(redis.url, other.url);
    origin.handle((req, res) => {
      if (req.method === 'POST') return void res.writeHead(201, { location: `http://${b.host}/victim` }).end();
      res.writeHead(200, { 'cache-control': 'max-age=600' });
      res.end('a');
    });
    const a = await startEdge(redis.url, origin.url);
    try {
      await b.get('/victim');
      await a.get('/x', { method: 'POST', body: 'x' });
      expect((await b.get('/victim')).headers['x-cache-status']).toBe('Hit');
    } finally {
      await a.close();
      await b.close();
      await other.close();
    }
  });
});
