/**
 * Every body length and framing completes and is stored once: empty, one byte, at and past a
 * socket chunk boundary, and large; with Content-Length, chunked and close-delimited framing; with
 * compression on and off; and the statuses and methods that have no body (204, 304, HEAD). The
 * origin is a raw TCP server, so each framing is exactly what is on the wire.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { startEdge, type TestEdge, test } from '../../helpers/fixtures.js';
import type { Sent } from '../../helpers/http.js';
import { settled } from '../../helpers/wait.js';

type Framing = 'length' | 'chunked' | 'close';

const LENGTHS = [0, 1, 16_384, 65_537, 1024 * 1024];
const FRAMINGS: Framing[] = ['length', 'chunked', 'close'];

/** Text that compresses, of exactly `n` bytes. */
function bodyOf(n: number): Buffer {
  const line = Buffer.from('{"line":"a json body that compresses well"}\n');
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i += line.length) line.copy(out, i, 0, Math.min(line.length, n - i));
  return out;
}

function decoded(sent: Sent): Buffer {
  const coding = sent.headers['content-encoding'];
  if (coding === 'br') return brotliDecompressSync(sent.body);
  if (coding === 'gzip') return gunzipSync(sent.body);
  return sent.body;
}

interface RawOrigin {
  url: string;
  hits: Map<string, number>;
  close(): Promise<void>;
}

/**
 * Answers `/<framing>/<length>` with that many bytes in that framing, `/no-content` with a 204,
 * `/validated/<length>` with an ETag and max-age=0 (a conditional request gets 304).
 */
function startRawOrigin(): Promise<RawOrigin> {
  const hits = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = '';
    socket.on('data', (data) => {
      buffered += data.toString('latin1');
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        answer(socket, head);
      }
    });
    socket.on('error', () => undefined);
  });
  const answer = (socket: Socket, head: string) => {
    const [method, path = ''] = (head.split('\r\n')[0] ?? '').split(' ');
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const conditional = /\r\nif-none-match:/i.test(head);
    const [, kind, size] = (path.split('?')[0] as string).split('/');
    const common = 'Content-Type: application/json\r\nCache-Control: max-age=60\r\n';
    if (kind === 'no-content') {
      socket.write('HTTP/1.1 204 No Content\r\nCache-Control: max-age=60\r\nContent-Type: text/plain\r\n\r\n');
      return;
    }
    const body = method === 'HEAD' ? Buffer.alloc(0) : bodyOf(Number(size));
    if (kind === 'validated') {
      if (conditional) {
        socket.write('HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nCache-Control: max-age=0\r\n\r\n');
        return;
      }
      socket.write(
        `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nETag: "v1"\r\nCache-Control: max-age=0\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      socket.write(body);
      return;
    }
    if (kind === 'length') {
      socket.write(`HTTP/1.1 200 OK\r\n${common}Content-Length: ${body.length}\r\n\r\n`);
      socket.write(body);
    } else if (kind === 'chunked') {
      socket.write(`HTTP/1.1 200 OK\r\n${common}Transfer-Encoding: chunked\r\n\r\n`);
      // Two chunks when there is more than one byte, so a chunk boundary falls inside the body.
      const half = Math.floor(body.length / 2);
      for (const part of [body.subarray(0, half), body.subarray(half)]) {
        if (part.length > 0) socket.write(`${part.length.toString(16)}\r\n${part.toString('latin1')}\r\n`, 'latin1');
      }
      socket.write('0\r\n\r\n');
    } else {
      socket.write(`HTTP/1.1 200 OK\r\n${common}Connection: close\r\n\r\n`);
      socket.end(body);
    }
  };
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${port}`,
        hits,
        close: () =>
          new Promise((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

let origin: RawOrigin;
beforeAll(async () => {
  origin = await startRawOrigin();
});
afterAll(() => origin.close());

const BROWSER = { 'accept-encoding': 'gzip, deflate, br' };

describe.each([
  ['compression on', true],
  ['compression off', false],
])('bodies of every length and framing (%s)', (_name, compress) => {
  let edge: TestEdge;
  test.beforeAll(async ({ redis }) => {
    edge = await startEdge(redis.url, origin.url, {
      service: { transform: { compress: { enabled: compress } } },
    });
  });
  test.afterAll(() => edge.close());

  for (const framing of FRAMINGS) {
    for (const length of LENGTHS) {
      test(`${framing}, ${length} bytes: completes, is stored once, and every client gets it`, async () => {
        const path = `/${framing}/${length}${compress ? '' : '?off'}`;
        const expected = bodyOf(length);
        const first = await edge.get(path, { headers: BROWSER });
        expect(first.status).toBe(200);
        expect(first.headers['x-cache-status']).toBe('Miss');
        expect(decoded(first).equals(expected)).toBe(true);
        await settled(edge);
        for (const headers of [BROWSER, { 'accept-encoding': 'gzip' }, {}]) {
          const again = await edge.get(path, { headers });
          expect(again.headers['x-cache-status'], JSON.stringify(headers)).toBe('Hit');
          expect(decoded(again).equals(expected), JSON.stringify(headers)).toBe(true);
          expect(Number(again.headers['content-length'])).toBe(again.body.length);
        }
        expect(origin.hits.get(path)).toBe(1);
      });
    }
  }

  test('204 No Content: completes, is stored once, and is served again as a plain hit', async () => {
    const path = `/no-content/${compress}`;
    const first = await edge.get(path);
    expect(first.status).toBe(204);
    expect(first.body.length).toBe(0);
    await settled(edge);
    const again = await edge.get(path);
    expect(again.status).toBe(204);
    expect(again.headers['x-cache-status']).toBe('Hit');
    expect(String(again.headers['cache-status'])).not.toContain('collapsed');
    expect(origin.hits.get(path)).toBe(1);
  });

  test.each(LENGTHS.slice(0, 3))('HEAD first, then GET (%i bytes): one origin request', async (length) => {
    const path = `/length/${length}?head-${compress}`;
    const head = await edge.get(path, { method: 'HEAD', headers: BROWSER });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    await settled(edge);
    const get = await edge.get(path, { headers: BROWSER });
    expect(get.headers['x-cache-status']).toBe('Hit');
    expect(decoded(get).equals(bodyOf(length))).toBe(true);
    expect(origin.hits.get(path)).toBe(1);
  });

  test.each([0, 1])('a stored %i-byte body revalidated with a 304 completes and keeps its body', async (length) => {
    const path = `/validated/${length}?${compress}`;
    const first = await edge.get(path);
    expect(first.status).toBe(200);
    await settled(edge);
    const revalidated = await edge.get(path);
    expect(revalidated.status).toBe(200);
    expect(revalidated.headers['x-cache-status']).toBe('Refresh');
    expect(revalidated.body.equals(bodyOf(length))).toBe(true);
    expect(origin.hits.get(path)).toBe(2);
  });
});
