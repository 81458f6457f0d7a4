import { describe, expect, it } from 'vitest';
import { humanBytes, statsSummary } from '../../../src/cli/admin-commands.js';

describe('the stats summary a person reads', () => {
  const base = {
    service: 'shop',
    entries: 1200,
    bytesStored: 5 * 1024 * 1024,
    hits: 900,
    misses: 100,
    bypasses: 12,
    hitRatio: 0.9,
    bytesFromCache: 1536,
    bytesFromOrigin: 10,
    evictions: 0,
    purges: 1,
    staleServed: 40,
    errors: 3,
    storeTimeouts: 0,
    storeErrors: 0,
    bytesSavedByCompression: 2048,
    bytesSavedByImages: 0,
    origin: { state: 'closed' as const, failures: 0, openUntil: null },
  };

  it('says counts in words, sizes in KiB/MiB and the ratio in percent', () => {
    const text = statsSummary(base);
    expect(text).toContain('stored     1200 objects, 5.0 MiB');
    expect(text).toContain('hit ratio  90.0 %  (900 hits, 100 misses; 12 bypasses not counted)');
    expect(text).toContain('40 stale answers while the origin failed, 3 error answers (5xx) from the edge');
    expect(text).toContain('1.5 KiB from cache, 10 B from the origin; saved 2.0 KiB by compression');
    expect(text).toContain('origin     healthy (circuit closed)');
  });

  it('says the circuit state in words', () => {
    const open = statsSummary({
      ...base,
      origin: { state: 'open', failures: 5, openUntil: '2026-12-01T10:00:00.000Z' },
    });
    expect(open).toContain('FAILING: circuit open until 2026-12-01T10:00:00.000Z after 5 consecutive failures');
    expect(statsSummary({ ...base, origin: { state: 'half-open', failures: 5, openUntil: null } })).toContain(
      'recovering: circuit half-open',
    );
  });

  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [150 * 1024, '150 KiB'],
    [3 * 1024 ** 3, '3.0 GiB'],
  ])('%i bytes read as %s', (bytes, text) => {
    expect(humanBytes(bytes)).toBe(text);
  });
});
