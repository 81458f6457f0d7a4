import { describe, expect, it } from 'vitest';
import { deltaSeconds, parseCacheControl } from '../../../src/policy/cache-control.js';

describe('parseCacheControl (RFC 9111 §5.2)', () => {
  it('reads tokens and quoted arguments, case-insensitive names', () => {
    const d = parseCacheControl('Public, MAX-AGE=60, s-maxage="120", no-cache="Set-Cookie, X-Foo"');
    expect(d.get('public')).toBe(true);
    expect(deltaSeconds(d, 'max-age')).toBe(60);
    expect(deltaSeconds(d, 's-maxage')).toBe(120); // quoted-string form accepted
    expect(d.get('no-cache')).toBe('Set-Cookie, X-Foo'); // comma inside quotes is not a separator
  });

  it('keeps the first occurrence of a repeated directive (§4.2.1)', () => {
    expect(deltaSeconds(parseCacheControl('max-age=10, max-age=3600'), 'max-age')).toBe(10);
    expect(deltaSeconds(parseCacheControl(['max-age=10', 'max-age=3600']), 'max-age')).toBe(10);
  });

  it.each([
    ['max-age=abc', 0],
    ['max-age=-5', 0],
    ['max-age=1.5', 0],
    ['max-age', 0],
    ['max-age=99999999999', 2_147_483_648], // capped at 2^31 (§1.2.2)
  ])('a malformed or huge delta-seconds is safe: %s → %d', (header, seconds) => {
    expect(deltaSeconds(parseCacheControl(header), 'max-age')).toBe(seconds);
  });

  it('ignores empty list members', () => {
    expect([...parseCacheControl(' , public,, ').keys()]).toEqual(['public']);
  });
});
