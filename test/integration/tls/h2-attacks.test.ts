/**
 * HTTP/2 in front of an HTTP/1.1 origin, attacked with raw frames: nothing a client writes in an
 * HTTP/2 request can become a second request, a smuggled header or an ambiguous body on the origin
 * side (connection-specific fields, both content-length and transfer-encoding, CR/LF in a value,
 * upper-case names, pseudo-headers out of place), and the edge's HTTP/2 limits hold: concurrent
 * streams, rapid reset (CVE-2023-44487), CONTINUATION floods.
 */
import { afterEach, describe, expect } from 'vitest';
import { makeCert, testCa } from '../../helpers/certs.js';
import { startEdge, type TestEdge, test } from '../../helpers/fixtures.js';
import { ERROR, FLAG, FRAME, frame, get, headerBlock, RawH2 } from '../../helpers/h2-frames.js';
import type { TestOrigin } from '../../helpers/origin.js';
import { waitFor } from '../../helpers/wait.js';

const HOST = 'shop.example';
let edge: TestEdge;
let port: number;
let logLines: Record<string, unknown>[] = [];

async function edgeFor(redisUrl: string, origin: TestOrigin): Promise<void> {
  const cert = makeCert([HOST]);
  logLines = [];
  edge = await startEdge(redisUrl, origin.url, {
    logLines,
    config: {
      edge: {
        tls: { listen: { host: '127.0.0.1', port: 0 }, http2: { maxConcurrentStreams: 16, maxResetsPerSecond: 50 } },
      },
      services: [
        {
          id: 'shop',
          hosts: [HOST],
          origin: { url: origin.url },
          tls: { certificate: { cert: cert.certFile, key: cert.keyFile } },
        },
      ],
    },
  });
  port = Number(new URL(edge.tlsUrl as string).port);
}

const open = () => RawH2.open(port, HOST, testCa().cert);

describe('HTTP/2 translated to the origin’s HTTP/1.1', () => {
  afterEach(async () => {
    await edge?.close();
  });

  test('malformed requests are reset and never reach the origin', async ({ redis, origin }) => {
    await edgeFor(redis.url, origin);
    const h2 = await open();
    const cases: [string, [string, string][]][] = [
      ['connection', [...get('/c1', HOST), ['connection', 'keep-alive']]],
      ['keep-alive', [...get('/c2', HOST), ['keep-alive', 'timeout=5']]],
      ['proxy-connection', [...get('/c3', HOST), ['proxy-connection', 'keep-alive']]],
      ['upgrade', [...get('/c4', HOST), ['upgrade', 'websocket']]],
      ['transfer-encoding', [...get('/c5', HOST), ['transfer-encoding', 'chunked']]],
      [
        'content-length and transfer-encoding',
        [...get('/c6', HOST), ['content-length', '5'], ['transfer-encoding', 'chunked']],
      ],
      ['te other than trailers', [...get('/c7', HOST), ['te', 'gzip']]],
      [
        'CR LF in :path',
        [
          [':method', 'GET'],
          [':scheme', 'https'],
          [':path', '/c9 HTTP/1.1\r\nHost: evil'],
          [':authority', HOST],
        ],
      ],
      ['an upper-case name', [...get('/c10', HOST), ['X-Upper', '1']]],
      [
        'a pseudo-header after a field',
        [
          [':method', 'GET'],
          [':scheme', 'https'],
          ['x-a', '1'],
          [':path', '/c11'],
          [':authority', HOST],
        ],
      ],
      ['an unknown pseudo-header', [...get('/c12', HOST), [':smuggle', '1']]],
      ['two :path', [...get('/c13', HOST), [':path', '/other']]],
      [
        'no :path',
        [
          [':method', 'GET'],
          [':scheme', 'https'],
          [':authority', HOST],
        ],
      ],
    ];
    let stream = 1;
    const outcomes: Record<string, string> = {};
    for (const [name, fields] of cases) {
      h2.headers(stream, fields);
      outcomes[name] = await h2.outcome(stream);
      stream += 2;
      if (h2.closed) break;
    }
    expect(outcomes).toEqual(Object.fromEntries(cases.map(([name]) => [name, 'reset'])));
    for (const reset of h2.of(FRAME.RST_STREAM)) expect(RawH2.code(reset)).toBe(ERROR.PROTOCOL_ERROR);
    // CR, LF or NUL in a value: Node drops the field (it never reaches the pipeline), so the
    // request goes on without it — nothing of it can become a header or a request at the origin.
    h2.headers(stream, [...get('/crlf', HOST), ['x-a', 'b\r\nx-smuggled: 1'], ['x-n', 'a\u0000b']]);
    expect(['answered', 'reset']).toContain(await h2.outcome(stream));
    stream += 2;
    // The connection is still good for a well-formed request.
    h2.headers(stream, [...get('/fine', HOST), ['te', 'trailers']]);
    expect(await h2.outcome(stream)).toBe('answered');
    await waitFor(() => origin.requestsFor('/fine').length === 1, 'the good request at the origin');
    expect(origin.requests.map((r) => r.url).filter((url) => url !== '/crlf')).toEqual(['/fine']);
    for (const seen of origin.requests) {
      expect(
        Object.keys(seen.headers).filter((name) =>
          ['x-a', 'x-n', 'x-smuggled', 'upgrade', 'keep-alive', 'proxy-connection', 'te'].includes(name),
        ),
      ).toEqual([]);
      expect(seen.rawHeaders.join('\n')).not.toMatch(/smuggled|evil/i);
    }
    h2.close();
  });

  test('a request body with content-length is forwarded framed by it; a short one never completes', async ({
    redis,
    origin,
  }) => {
    await edgeFor(redis.url, origin);
    const h2 = await open();
    const post = (path: string, length: string): [string, string][] => [
      [':method', 'POST'],
      [':scheme', 'https'],
      [':path', path],
      [':authority', HOST],
      ['content-length', length],
    ];
    h2.headers(1, post('/exact', '5'), FLAG.END_HEADERS);
    h2.write(frame(FRAME.DATA, FLAG.END_STREAM, 1, Buffer.from('hello')));
    expect(await h2.outcome(1)).toBe('answered');
    // Says 10, sends 5: the stream is reset; the origin never gets a complete request for it.
    h2.headers(3, post('/short', '10'), FLAG.END_HEADERS);
    h2.write(frame(FRAME.DATA, FLAG.END_STREAM, 3, Buffer.from('hello')));
    expect(await h2.outcome(3)).toBe('reset');
    const exact = origin.requests.find((r) => r.url === '/exact');
    expect(exact?.body?.toString()).toBe('hello');
    expect(exact?.headers['content-length']).toBe('5');
    expect(exact?.headers['transfer-encoding']).toBeUndefined();
    // (the test origin records a request once its body has ended)
    await new Promise((resolve) => setImmediate(resolve));
    expect(origin.requestsFor('/short')).toEqual([]);
    h2.close();
  });
});

describe('HTTP/2 limits', () => {
  afterEach(async () => {
    await edge?.close();
  });

  test('a client opening more streams than the limit loses its connection; the limit is what it was told', async ({
    redis,
    origin,
  }) => {
    origin.handle(() => undefined); // never answers: every stream stays open
    await edgeFor(redis.url, origin);
    const within = await open();
    await waitFor(() => within.of(FRAME.SETTINGS).length > 0, 'the server settings');
    // SETTINGS_MAX_CONCURRENT_STREAMS (id 3) as configured.
    const settings = within.of(FRAME.SETTINGS).find((f) => f.payload.length > 0) as { payload: Buffer };
    const advertised = new Map<number, number>();
    for (let i = 0; i + 6 <= settings.payload.length; i += 6)
      advertised.set(settings.payload.readUInt16BE(i), settings.payload.readUInt32BE(i + 2));
    expect(advertised.get(3)).toBe(16);
    for (let i = 0; i < 16; i++) within.headers(1 + 2 * i, get(`/slow${i}`, HOST));
    await waitFor(() => origin.requests.length === 16, 'sixteen streams at the origin');
    expect(within.closed).toBe(false);
    // One more than allowed: a protocol violation; Node ends the connection (RFC 9113 §5.1.2
    // allows refusing the stream; closing is the stricter answer) and the origin sees no more.
    within.headers(33, get('/one-too-many', HOST));
    await waitFor(() => within.closed, 'the connection to be closed');
    expect(origin.requestsFor('/one-too-many')).toEqual([]);
    // Others are served.
    origin.handle((_req, res) => {
      res.end('ok');
    });
    const other = await open();
    other.headers(1, get('/after', HOST));
    expect(await other.outcome(1)).toBe('answered');
    other.close();
  });

  test('rapid reset: a client resetting streams faster than allowed loses its connection', async ({
    redis,
    origin,
  }) => {
    await edgeFor(redis.url, origin);
    const h2 = await open();
    const burst: Buffer[] = [];
    for (let i = 0; i < 500; i++) {
      const stream = 1 + 2 * i;
      burst.push(frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, stream, headerBlock(get(`/r${i}`, HOST))));
      const code = Buffer.alloc(4);
      code.writeUInt32BE(ERROR.CANCEL);
      burst.push(frame(FRAME.RST_STREAM, 0, stream, code));
    }
    h2.write(Buffer.concat(burst));
    await waitFor(() => h2.closed || h2.of(FRAME.GOAWAY).length > 0, 'the connection to be closed');
    const goaway = h2.of(FRAME.GOAWAY)[0];
    if (goaway) expect([ERROR.ENHANCE_YOUR_CALM, ERROR.PROTOCOL_ERROR]).toContain(RawH2.code(goaway));
    // Far fewer than 500 requests reached the origin; the edge said why it closed the connection.
    expect(origin.requests.length).toBeLessThan(200);
    await waitFor(() => logLines.some((l) => l.what === 'rapid reset'), 'the abuse to be logged');
    h2.close();
  });

  test('a header list past maxHeaderListBytes never reaches the origin', async ({ redis, origin }) => {
    await edgeFor(redis.url, origin);
    const h2 = await open();
    await waitFor(() => h2.of(FRAME.SETTINGS).length > 0, 'the server settings');
    // 40 fields of 1 KiB: 40 KiB decoded, past the 32 KiB advertised.
    const fields = Array.from({ length: 40 }, (_, i) => [`x-big-${i}`, 'b'.repeat(1024)] as [string, string]);
    h2.headers(1, [...get('/big', HOST), ...fields]);
    const outcome = await h2.outcome(1);
    expect(['reset', 'closed']).toContain(outcome);
    await new Promise((resolve) => setImmediate(resolve));
    expect(origin.requestsFor('/big')).toEqual([]);
    h2.close();
  });

  test('CONTINUATION flood: endless header fragments end the connection, not the process', async ({
    redis,
    origin,
  }) => {
    await edgeFor(redis.url, origin);
    const h2 = await open();
    h2.write(frame(FRAME.HEADERS, 0, 1, headerBlock(get('/flood', HOST))));
    const junk = headerBlock([['x-junk', 'a'.repeat(1000)]]);
    for (let i = 0; i < 2000 && !h2.closed; i++) h2.write(frame(FRAME.CONTINUATION, 0, 1, junk));
    await waitFor(() => h2.closed || h2.of(FRAME.GOAWAY).length > 0, 'the connection to be closed');
    expect(origin.requests).toEqual([]);
    // The edge still serves everyone else.
    const other = await open();
    other.headers(1, get('/after', HOST));
    expect(await other.outcome(1)).toBe('answered');
    other.close();
    h2.close();
  });
});
