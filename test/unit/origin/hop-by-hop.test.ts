import { describe, expect, it } from 'vitest';
import { endToEndHeaders } from '../../../src/origin/hop-by-hop.js';

describe('endToEndHeaders (RFC 9110 §7.6.1)', () => {
  it('drops the fixed hop-by-hop list and every field Connection names', () => {
    const out = endToEndHeaders({
      connection: 'keep-alive, X-Secret, x-other',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      te: 'trailers',
      trailer: 'x',
      upgrade: 'websocket',
      'proxy-authorization': 'Basic x',
      'proxy-connection': 'keep-alive',
      'x-secret': 'leak',
      'x-other': 'leak',
      'content-type': 'text/plain',
      'cache-control': 'max-age=1',
    });
    expect(out).toEqual({ 'content-type': 'text/plain', 'cache-control': 'max-age=1' });
  });
  it('drops extra names on request', () => {
    expect(endToEndHeaders({ a: '1', b: '2' }, new Set(['b']))).toEqual({ a: '1' });
  });
});
