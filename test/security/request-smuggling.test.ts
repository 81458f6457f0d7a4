/**
 * Request smuggling and ambiguous framing: a request the edge and the origin could read differently
 * is refused with the status and error code named for it, and never forwarded. Each case then
 * checks that a clean request still gets the origin's genuine response.
 */
import { describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';
import { rawRequest, statusOf } from '../helpers/raw.js';

type Case = [name: string, build: (host: string) => string, status: number, code: string | undefined];

const MALFORMED = 'CF_ERR_MALFORMED_REQUEST';

const cases: Case[] = [
  [
    'Transfer-Encoding with Content-Length',
    (h) =>
      `POST /s HTTP/1.1\r\nHost: ${h}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /poison HTTP/1.1\r\nHost: ${h}\r\n\r\n`,
    400,
    MALFORMED,
  ],
  [
    'two different Content-Length values',
    (h) => `POST /s HTTP/1.1\r\nHost: ${h}\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd`,
    400,
    MALFORMED,
  ],
  [
    'an invalid Content-Length',
    (h) => `POST /s HTTP/1.1\r\nHost: ${h}\r\nContent-Length: 4x\r\n\r\nabcd`,
    400,
    MALFORMED,
  ],
  [
    'an obfuscated Transfer-Encoding',
    (h) => `POST /s HTTP/1.1\r\nHost: ${h}\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`,
    400,
    MALFORMED,
  ],
  [
    'obs-fold (a folded header line)',
    (h) => `GET /s HTTP/1.1\r\nHost: ${h}\r\nX-A: 1\r\n folded\r\n\r\n`,
    400,
    MALFORMED,
  ],
  ['a bare LF inside a header value', (h) => `GET /s HTTP/1.1\r\nHost: ${h}\r\nX-A: a\nb\r\n\r\n`, 400, MALFORMED],
  ['a bare CR inside a header value', (h) => `GET /s HTTP/1.1\r\nHost: ${h}\r\nX-A: a\rb\r\n\r\n`, 400, MALFORMED],
  ['a NUL inside a header value', (h) => `GET /s HTTP/1.1\r\nHost: ${h}\r\nX-A: a\u0000b\r\n\r\n`, 400, MALFORMED],
  ['a space before the colon', (h) => `GET /s HTTP/1.1\r\nHost: ${h}\r\nX-A : 1\r\n\r\n`, 400, MALFORMED],
  [
    'two Host headers',
    (h) => `GET /s HTTP/1.1\r\nHost: ${h}\r\nHost: other.example\r\n\r\n`,
    400,
    'CF_ERR_AMBIGUOUS_REQUEST',
  ],
  ['no Host header', () => `GET /s HTTP/1.1\r\n\r\n`, 400, 'CF_ERR_MISSING_HOST'],
  ['an invalid Host', () => `GET /s HTTP/1.1\r\nHost: a b\r\n\r\n`, 400, 'CF_ERR_INVALID_HOST'],
  // Legal HTTP: the encoded CR/LF must stay encoded all the way to the origin.
  [
    'a CR/LF smuggled in the request target',
    (h) => `GET /s%0d%0aX-Injected:%201 HTTP/1.1\r\nHost: ${h}\r\nX-Check: %0d%0a\r\nConnection: close\r\n\r\n`,
    200,
    undefined,
  ],
];

describe('ambiguous framing is refused, never forwarded', () => {
  test.for(cases)('%s', async ([, build, status, code], { edge, origin }) => {
    const reply = await rawRequest(edge.url, build(edge.host));
    expect(statusOf(reply)).toBe(status);
    if (code !== undefined) {
      expect(reply).toContain(`code: ${code}`);
      expect(reply.toLowerCase()).toContain('content-type: text/plain');
      expect(origin.requests).toHaveLength(0);
    } else {
      expect(origin.requests).toHaveLength(1);
      expect(origin.requests[0]?.url).toBe('/s%0D%0AX-Injected:%201');
      expect(origin.requests[0]?.headers['x-injected']).toBeUndefined();
    }
    const victim = await edge.get('/poison');
    expect(victim.status).toBe(200);
    expect(victim.text).toBe('origin says hello to /poison');
  });
});
