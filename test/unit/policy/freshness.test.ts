import { describe, expect, it } from 'vitest';
import { parseCacheControl } from '../../../src/policy/cache-control.js';
import { correctedInitialAge, currentAge, freshnessLifetime } from '../../../src/policy/freshness.js';
import { formatHttpDate } from '../../../src/policy/http-date.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const off = { enabled: false, maxSeconds: 86_400 };
const on = { enabled: true, maxSeconds: 3_600 };
const life = (cc: string, headers: Record<string, string> = {}, status = 200, heuristic = off) =>
  freshnessLifetime(status, parseCacheControl(cc), { 'cache-control': cc, ...headers }, NOW, heuristic);

describe('freshnessLifetime (RFC 9111 §4.2.1)', () => {
  it('s-maxage wins over max-age for a shared cache', () => {
    expect(life('max-age=10, s-maxage=100')).toEqual({ seconds: 100, source: 's-maxage' });
  });
  it('max-age wins over Expires', () => {
    expect(life('max-age=10', { expires: formatHttpDate(NOW + 3_600_000), date: formatHttpDate(NOW) })).toEqual({
      seconds: 10,
      source: 'max-age',
    });
  });
  it('Expires − Date when no max-age', () => {
    expect(life('', { expires: formatHttpDate(NOW + 300_000), date: formatHttpDate(NOW - 60_000) }).seconds).toBe(360);
  });
  it('an invalid Expires means already expired (§5.3)', () => {
    expect(life('', { expires: '0' })).toEqual({ seconds: 0, source: 'expires' });
  });
  it('no heuristic unless the service turns it on (§4.2.2)', () => {
    const lm = { 'last-modified': formatHttpDate(NOW - 10 * 86_400_000), date: formatHttpDate(NOW) };
    expect(life('', lm).source).toBe('none');
    expect(life('', lm, 200, on)).toEqual({ seconds: 3_600, source: 'heuristic' }); // 10% of 10 days, capped
    expect(
      life('', { 'last-modified': formatHttpDate(NOW - 1_000_000), date: formatHttpDate(NOW) }, 200, on).seconds,
    ).toBe(100);
    expect(life('', lm, 500, on).source).toBe('none'); // 500 is not heuristically cacheable
  });
});

describe('age (RFC 9111 §4.2.3)', () => {
  it('corrected initial age takes the larger of apparent age and Age + response delay', () => {
    expect(correctedInitialAge({ date: formatHttpDate(NOW - 30_000) }, NOW - 1_000, NOW)).toBe(30);
    expect(correctedInitialAge({ date: formatHttpDate(NOW), age: '100' }, NOW - 2_000, NOW)).toBe(102);
    expect(correctedInitialAge({ age: 'abc' }, NOW, NOW)).toBe(0); // invalid Age ignored
    expect(correctedInitialAge({ age: '-7200' }, NOW, NOW)).toBe(0);
    expect(correctedInitialAge({ age: '7200.0' }, NOW, NOW)).toBe(0);
  });
  it('a list-based Age uses its first member (§5.1)', () => {
    expect(correctedInitialAge({ age: '7200, 0' }, NOW, NOW)).toBe(7200);
    expect(correctedInitialAge({ age: ['7200', '0'] }, NOW, NOW)).toBe(7200);
    expect(correctedInitialAge({ age: '0,7200' }, NOW, NOW)).toBe(0);
  });
  it('current age grows with resident time', () => {
    expect(currentAge(10, NOW, NOW + 5_500)).toBe(15);
  });
});
