/**
 * HTTP/2 streams reach the pipeline without node:http2's compatibility objects (src/tls/h2-exchange.ts).
 * What those objects did for the edge still happens: HEAD and 304 answered with HEADERS alone,
 * request bodies streamed to the origin and held to the limit, Expect: 100-continue answered and
 * other expectations refused, 103 Early Hints forwarded, connection-specific fields never sent,
 * and a client leaving mid-body costs nothing but its stream.
 */
import { type ClientHttp2Session, type ClientHttp2Stream, connect, constants } from 'node:http2';
import { afterEach, describe, expect } from 'vitest';
import { testCa } from '../../helpers/certs.js';
import { startEdge, type TestEdge, test } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait.js';

let edge: TestEdge;
let session: ClientHttp2Session | undefined;

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: Buffer;
  /** Informational heads (1xx) before the response, in order. */
  informational: Record<string, unknown>[];
  /** Frames' worth of body: how many DATA chunks arrived (0 for a HEADERS-only answer). */
  chunks: number;
}

function h2(): ClientHttp2Session {
  if (session && !session.closed && !session.destroyed) return session;
  session = connect(edge.tlsUrl as string, { ca: testCa().cert, servername: edge.host });
  session.on('error', () => undefined);
  return session;
}

function request(headers: Record<string, string>, body?: Buffer, options: { waitForContinue?: boolean } = {}) {
  const stream = h2().request(
    { ':authority': edge.host, ':method': 'GET', ':path': '/', ...headers },
    { endStream: body === undefined },
  );
  const answer = new Promise<Answer>((resolve, reject) => {
    const informational: Record<string, unknown>[] = [];
    const chunks: Buffer[] = [];
    let head: Record<string, unknown> = {};
    stream.on('headers', (info) => informational.push({ ...info }));
    stream.on('continue', () => {
      if (options.waitForContinue && body) stream.end(body);
    });
    stream.on('response', (response) => {
      head = { ...response };
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () =>
      resolve({
        status: Number(head[':status']),
        headers: head,
        body: Buffer.concat(chunks),
        informational,
        chunks: chunks.length,
      }),
    );
    stream.on('error', reject);
  });
  if (body !== undefined && !options.waitForContinue) stream.end(body);
  return { stream, answer };
}

const send = (headers: Record<string, string>, body?: Buffer) => request(headers, body).answer;

async function h2Edge(redisUrl: string, originUrl: string, config: Record<string, unknown> = {}) {
  edge = await startEdge(redisUrl, originUrl, { transport: 'h2', config });
}

describe('HTTP/2 streams through the pipeline', () => {
  afterEach(async () => {
    session?.close();
    session = undefined;
    await edge?.close();
  });

  test('HEAD and 304 are one HEADERS frame; a GET hit carries its body', async ({ redis, origin }) => {
    await h2Edge(redis.url, origin.url);
    origin.handle((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', etag: '"v1"', 'content-type': 'text/plain' });
      res.end('a body of thirty-one bytes, ok.');
    });
    const miss = await send({ ':path': '/page' });
    expect(miss.body.toString()).toBe('a body of thirty-one bytes, ok.');
    const head = await send({ ':path': '/page', ':method': 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['x-cache-status']).toBe('Hit');
    expect(head.headers['content-length']).toBe('31');
    expect(head.chunks).toBe(0);
    const notModified = await send({ ':path': '/page', 'if-none-match': '"v1"' });
    expect(notModified.status).toBe(304);
    expect(notModified.chunks).toBe(0);
    const hit = await send({ ':path': '/page' });
    expect(hit.headers['x-cache-status']).toBe('Hit');
    expect(hit.body.toString()).toBe('a body of thirty-one bytes, ok.');
    expect(origin.requestsFor('/page')).toHaveLength(1);
  });

  test('request bodies stream to the origin whole, and over the limit are refused', async ({ redis, origin }) => {
    await h2Edge(redis.url, origin.url, { edge: { maxBodyBytes: 300_000 } });
    origin.handle((_req, res, recorded) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
      res.end(`got ${recorded.body.length}`);
    });
    const body = Buffer.alloc(200_000, 'x');
    const posted = await send({ ':method': 'POST', ':path': '/upload' }, body);
    expect(posted.body.toString()).toBe('got 200000');
    expect(origin.requestsFor('/upload')[0]?.body.equals(body)).toBe(true);

    const tooLarge = await send({ ':method': 'POST', ':path': '/big' }, Buffer.alloc(400_000, 'y'));
    expect(tooLarge.status).toBe(413);
    expect(origin.requestsFor('/big')).toHaveLength(0);
  });

  test('Expect: 100-continue is answered before the body is read; other expectations get 417', async ({
    redis,
    origin,
  }) => {
    await h2Edge(redis.url, origin.url);
    origin.handle((_req, res, recorded) => {
      res.writeHead(200, { 'cache-control': 'no-store' });
      res.end(`got ${recorded.body.toString()}`);
    });
    const continued = await request(
      { ':method': 'PUT', ':path': '/put', expect: '100-continue' },
      Buffer.from('after the 100'),
      { waitForContinue: true },
    ).answer;
    expect(continued.informational.map((h) => h[':status'])).toEqual([100]);
    expect(continued.body.toString()).toBe('got after the 100');

    const refused = await send({ ':method': 'PUT', ':path': '/put2', expect: 'something-else' }, Buffer.from('x'));
    expect(refused.status).toBe(417);
    expect(origin.requestsFor('/put2')).toHaveLength(0);
  });

  test('103 Early Hints from the origin reach an HTTP/2 client before the response', async ({ redis, origin }) => {
    await h2Edge(redis.url, origin.url);
    origin.handle((_req, res) => {
      res.writeEarlyHints({ link: '</app.css>; rel=preload; as=style' });
      res.writeHead(200, { 'cache-control': 'max-age=60' });
      res.end('hinted');
    });
    const answer = await send({ ':path': '/hinted' });
    expect(answer.body.toString()).toBe('hinted');
    expect(answer.informational).toEqual([
      expect.objectContaining({ ':status': 103, link: '</app.css>; rel=preload; as=style' }),
    ]);
  });

  test('an error that closes an HTTP/1.1 connection is sent without its Connection field', async ({
    redis,
    origin,
  }) => {
    await h2Edge(redis.url, origin.url);
    // A target the edge cannot read: 400, which over HTTP/1.1 also closes the connection.
    const bad = await send({ ':path': '/%zz%' });
    expect(bad.status).toBe(400);
    expect(bad.headers.connection).toBeUndefined();
    expect(bad.body.toString()).toMatch(/^400 /);
    // The connection is still good for the next request.
    expect((await send({ ':path': '/after' })).status).toBe(200);
  });

  test('a client leaving mid-body resets only its stream; the fill and the connection go on', async ({
    redis,
    origin,
  }) => {
    await h2Edge(redis.url, origin.url);
    let release: (() => void) | undefined;
    origin.handle((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(64 * 1024, 'a'));
      release = () => res.end(Buffer.alloc(64 * 1024, 'b'));
    });
    const { stream, answer } = request({ ':path': '/slow' });
    answer.catch(() => undefined);
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    (stream as ClientHttp2Stream).close(constants.NGHTTP2_CANCEL);
    await waitFor(() => release !== undefined, 'the origin to be asked');
    release?.();
    // Stored whole all the same, and served to the next client on the same connection.
    await waitFor(async () => (await send({ ':path': '/slow' })).headers['x-cache-status'] === 'Hit', 'a hit');
    const hit = await send({ ':path': '/slow' });
    expect(hit.body.length).toBe(128 * 1024);
    expect(origin.requestsFor('/slow')).toHaveLength(1);
  });
});
