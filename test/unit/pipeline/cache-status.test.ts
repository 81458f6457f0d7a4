import { describe, expect, it } from 'vitest';
import { formatCacheStatus, headerSafe } from '../../../src/pipeline/cache-status.js';

describe('Cache-Status (RFC 9211)', () => {
  it.each([
    [{ hit: true, ttl: 57.9 }, 'cachefront; hit; ttl=57'],
    [{ hit: true, ttl: -3.2 }, 'cachefront; hit; ttl=-3'],
    [{ fwd: 'uri-miss', fwdStatus: 200, stored: true }, 'cachefront; fwd=uri-miss; fwd-status=200; stored'],
    [
      { fwd: 'vary-miss', fwdStatus: 200, stored: true, collapsed: true },
      'cachefront; fwd=vary-miss; fwd-status=200; stored; collapsed',
    ],
    [{ fwd: 'stale', fwdStatus: 304, stored: true }, 'cachefront; fwd=stale; fwd-status=304; stored'],
    [{ fwd: 'bypass', detail: 'request-no-store' }, 'cachefront; fwd=bypass; detail=request-no-store'],
    [{ fwd: 'miss', detail: 'CF_ERR_ORIGIN_TIMEOUT' }, 'cachefront; fwd=miss; detail=CF_ERR_ORIGIN_TIMEOUT'],
    [{ fwd: 'uri-miss', key: 'GET http://a/"q"\\' }, 'cachefront; fwd=uri-miss; key="GET http://a/\\"q\\"\\\\"'],
    [{ detail: 'not a token' }, 'cachefront; detail="not a token"'],
  ] as const)('%j → %s', (parts, header) => {
    expect(formatCacheStatus(parts)).toBe(header);
  });

  it('never lets a control character or non-ASCII byte into a header line', () => {
    expect(headerSafe('a\r\nb\u00e9')).toBe('a??b?');
    expect(formatCacheStatus({ key: 'x\ny' })).toBe('cachefront; key="x?y"');
  });
});
