/**
 * Request smuggling and ambiguous framing: a request the edge and the origin could read differently
 * is rejected with 400 and never forwarded. Each case then checks that a clean request still gets
 * the origin's genuine response.
 */
import { describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';
import { rawRequest, statusOf } from '../helpers/raw.js';

const cases: [string, (host: string) => string][] = [
  [
    'Transfer-Encoding with Content-Length',
    (h) =>
      `POST /s HTTP/1.1\r\nHost: ${h}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /poison HTTP/1.1\r\nHost: ${h}\r\n\r\n`,
  ],
  [
    'two different Content-Length values',
    (h) => `POST /s HTTP/1.1\r\nHost: ${h}\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd`,
  ],
  ['an invalid Content-Length', (h) => `POST /s HTTP/1.1\r\nHost: ${h}\r\nContent-Length: 4x\r\n\r\nabcd`],
  [
    'an obfuscated Transfer-Encoding',
    (h) => `POST /s HTTP/1.1\r\nHost: ${h}\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`,
  ],
  ['obs-fold (a folded header line)', (h) => `GET /s HTTP/1.1\r\nHost: ${h}\r\nX-A: 1\r\n folded\r\n\r\n`],
  ['a bare LF inside a header value', (h) => `GET /s HTTP/1.1\r\nHost: ${h}\r\nX-A: a\nb\r\n\r\n`],
  ['a bare CR inside a header value', (h) => `GET /s HTTP/1.1\r\nHost: ${h}\r\nX-A: a\rb\r\n\r\n`],
  ['a NUL inside a header value', (h) => `GET /s HTTP/1.1\r\nHost: ${h}\r\nX-A: a\u0000b\r\n\r\n`],
  ['a space before the colon', (h) => `GET /s HTTP/1.1\r\nHost: ${h}\r\nX-A : 1\r\n\r\n`],
  ['two Host headers', (h) => `GET /s HTTP/1.1\r\nHost: ${h}\r\nHost: other.example\r\n\r\n`],
  ['no Host header', () => `GET /s HTTP/1.1\r\n\r\n`],
  ['an invalid Host', () => `GET /s HTTP/1.1\r\nHost: a b\r\n\r\n`],
  [
    'a CR/LF smuggled in the request target',
    (h) => `GET /s%0d%0aX-Injected:%201 HTTP/1.1\r\nHost: ${h}\r\nX-Check: %0d%0a\r\n\r\n`,
  ],
];

describe('ambiguous framing is refused, never forwarded', () => {
  test.for(cases)('%s', async ([, build], { edge, origin }) => {
    const reply = await rawRequest(edge.url, build(edge.host));
    const status = statusOf(reply);
    if (status !== 0 && status < 400) {
      // only the encoded CR/LF target is legal HTTP: it must stay encoded all the way
      expect(origin.requests.every((r) => !r.url.includes('\r') && !r.url.includes('\n'))).toBe(true);
      expect(origin.requests.every((r) => r.headers['x-injected'] === undefined)).toBe(true);
    } else {
      expect(status === 0 || (status >= 400 && status < 500)).toBe(true);
      expect(origin.requests.filter((r) => r.url === '/s' || r.url === '/poison')).toHaveLength(0);
    }
    const victim = await edge.get('/poison');
    expect(victim.status).toBe(200);
    expect(victim.text).toBe('origin says hello to /poison');
  });
});
