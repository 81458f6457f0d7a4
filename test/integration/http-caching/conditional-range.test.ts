import { describe, expect } from 'vitest';
import { test } from '../../helpers/fixtures.js';

const BODY = '0123456789abcdefghijklmnopqrstuvwxyz';
const LM = 'Sun, 06 Nov 1994 08:49:37 GMT';

describe('client conditionals answered by the edge (RFC 9110 §13)', () => {
  test.for(['hit', 'miss'] as const)('on a %s', async (kind, { edge, origin }) => {
    origin.handle((_req, res) => {
      res.writeHead(200, {
        etag: '"e1"',
        'last-modified': LM,
        'cache-control': 'max-age=60',
        'content-type': 'text/plain',
        vary: 'Accept-Language',
      });
      res.end(BODY);
    });
    const path = '/cond';
    if (kind === 'hit') await edge.get(path);
    const notModified = await edge.get(path, { headers: { 'if-none-match': 'W/"e1"' } });
    expect(notModified.status).toBe(304);
    expect(notModified.body.length).toBe(0);
    // §15.4.5: the fields a 200 would carry among ETag, Cache-Control, Date, Vary, Expires …
    expect(notModified.headers.etag).toBe('"e1"');
    expect(notModified.headers['cache-control']).toBe('max-age=60');
    expect(notModified.headers.vary).toBe('Accept-Language');
    expect(notModified.headers['content-type']).toBeUndefined();
    const since = await edge.get(path, { headers: { 'if-modified-since': LM } });
    expect(since.status).toBe(304);
    const changed = await edge.get(path, { headers: { 'if-none-match': '"other"', 'if-modified-since': LM } });
    expect(changed.status).toBe(200); // If-None-Match decides when present (§13.2.2)
    expect(changed.text).toBe(BODY);
    expect((await edge.get(path, { headers: { 'if-match': '"nope"' } })).status).toBe(412);
    expect((await edge.get(path, { headers: { 'if-unmodified-since': 'Sat, 05 Nov 1994 08:49:37 GMT' } })).status).toBe(
      412,
    );
    expect((await edge.get(path, { headers: { 'if-match': '"e1"' } })).status).toBe(200);
    expect(origin.requests).toHaveLength(1);
    // The client's validators never reach the origin on a fill.
    expect(origin.requests[0]?.headers['if-none-match']).toBeUndefined();
  });
});

describe('range requests (RFC 9110 §14)', () => {
  test('single, open-ended and suffix ranges from a stored object; 416 when unsatisfiable', async ({
    edge,
    origin,
  }) => {
    origin.handle((_req, res) => {
      res.writeHead(200, { etag: '"r1"', 'cache-control': 'max-age=60', 'content-type': 'text/plain' });
      res.end(BODY);
    });
    await edge.get('/r');
    expect((await edge.get('/r')).headers['accept-ranges']).toBe('bytes'); // the stored length is known
    const first = await edge.get('/r', { headers: { range: 'bytes=0-9' } });
    expect(first.status).toBe(206);
    expect(first.text).toBe('0123456789');
    expect(first.headers['content-range']).toBe(`bytes 0-9/${BODY.length}`);
    expect(first.headers['content-length']).toBe('10');
    const tail = await edge.get('/r', { headers: { range: 'bytes=-5' } });
    expect(tail.text).toBe('vwxyz');
    const open = await edge.get('/r', { headers: { range: 'bytes=30-' } });
    expect(open.text).toBe('uvwxyz');
    const outside = await edge.get('/r', { headers: { range: 'bytes=100-' } });
    expect(outside.status).toBe(416);
    expect(outside.headers['content-range']).toBe(`bytes */${BODY.length}`);
    const several = await edge.get('/r', { headers: { range: 'bytes=0-1, 10-11' } });
    expect(several.status).toBe(200); // several ranges: the whole representation (documented)
    expect(several.text).toBe(BODY);
    expect(origin.requests).toHaveLength(1);
  });

  test('If-Range: the range applies only while the validator matches', async ({ edge, origin }) => {
    origin.handle((_req, res) => {
      res.writeHead(200, { etag: '"r2"', 'cache-control': 'max-age=60' });
      res.end(BODY);
    });
    await edge.get('/ir');
    expect((await edge.get('/ir', { headers: { range: 'bytes=0-0', 'if-range': '"r2"' } })).status).toBe(206);
    const changed = await edge.get('/ir', { headers: { range: 'bytes=0-0', 'if-range': '"old"' } });
    expect(changed.status).toBe(200);
    expect(changed.text).toBe(BODY);
  });

  test('a miss with Range fetches the whole object, stores it and serves the range', async ({ edge, origin }) => {
    origin.handle((req, res) => {
      expect(req.headers.range).toBeUndefined();
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': BODY.length });
      res.end(BODY);
    });
    const part = await edge.get('/mr', { headers: { range: 'bytes=2-4' } });
    expect(part.status).toBe(206);
    expect(part.text).toBe('234');
    const hit = await edge.get('/mr');
    expect(hit.headers['x-cache-status']).toBe('Hit');
    expect(hit.text).toBe(BODY);
  });

  test('a 206 from the origin is never stored as the full object', async ({ edge, origin }) => {
    origin.handle((_req, res) => {
      res.writeHead(206, { 'cache-control': 'max-age=60', 'content-range': `bytes 0-3/${BODY.length}` });
      res.end(BODY.slice(0, 4));
    });
    const res = await edge.get('/p206');
    expect(res.status).toBe(206);
    expect(res.headers['cache-status']).toContain('detail=partial-content');
    await edge.get('/p206');
    expect(origin.requests).toHaveLength(2);
  });
});

describe('fields withheld from the shared copy', () => {
  test.for([
    ['no-cache="a"', ['a'], ['b']],
    ['no-cache="a, b"', ['a', 'b'], ['c']],
    ['private="a"', ['a'], ['b']],
  ] as const)('Cache-Control: %s', async ([directive, withheld, kept], { edge, origin }) => {
    origin.handle((_req, res) => {
      res.writeHead(200, { 'cache-control': `max-age=3600, ${directive}`, a: '1', b: '2', c: '3' });
      res.end('partly shared');
    });
    const first = await edge.get('/f');
    for (const name of withheld) expect(first.headers[name]).toBeDefined(); // the requester gets it
    const hit = await edge.get('/f');
    expect(hit.headers['x-cache-status']).toBe('Hit');
    for (const name of withheld) expect(hit.headers[name]).toBeUndefined();
    for (const name of kept) expect(hit.headers[name]).toBeDefined();
  });
});
