import { describe, expect, it } from 'vitest';
import {
  deltaSeconds,
  parseCacheControl,
  parseTargetedField,
  responsePolicy,
} from '../../../src/policy/cache-control.js';

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

describe('targeted fields are Dictionary Structured Fields (RFC 9213 §2.1, RFC 8941)', () => {
  it.each([
    'max-age=10000, &&&&&',
    'max-age=60,',
    'Max-Age=60', // keys are lower-case
    'max-age=60 public', // members are separated by commas
    'private="unterminated',
    'max-age=1234567890123456', // more than 15 digits
    'no-store=?2',
    'max-age=6O',
  ])('a field that does not parse is ignored as a whole: %s', (value) => {
    expect(parseTargetedField(value)).toBeUndefined();
    const policy = responsePolicy({ 'cdn-cache-control': value, 'cache-control': 'no-store' });
    expect(policy.source).toBe('cache-control');
    expect(policy.directives.has('no-store')).toBe(true);
  });

  it('reads integers, strings, tokens and flags; parameters and inner lists are valid but carry nothing', () => {
    const d = parseTargetedField(
      'max-age=60;x=1, private="set-cookie, x-a", stale-if-error=30, no-transform, ext=(a b)',
    );
    expect(d?.get('max-age')).toBe('60');
    expect(d?.get('private')).toBe('set-cookie, x-a');
    expect(d?.get('no-transform')).toBe(true);
    expect(d?.get('stale-if-error')).toBe('30');
    expect(d?.has('ext')).toBe(false);
  });

  it.each([
    'max-age="10000"', // a String where an Integer belongs (the HTTP WG cache-tests' cdn-cc-invalid-sh-type-wrong)
    'max-age=1.5',
    'max-age=-5',
    'max-age', // a bare flag
    's-maxage=token',
    'stale-if-error=?1, max-age=60',
  ])('a delta-seconds directive of the wrong type or sign makes the field invalid: %s', (value) => {
    expect(parseTargetedField(value)).toBeUndefined();
    const policy = responsePolicy({ 'cdn-cache-control': value, 'cache-control': 'no-store' });
    expect(policy.source).toBe('cache-control');
    expect(policy.directives.has('no-store')).toBe(true);
  });

  it('a Boolean false reads as absent, true as the flag', () => {
    expect(parseTargetedField('no-store=?0')?.has('no-store')).toBe(false);
    expect(parseTargetedField('no-store=?1')?.get('no-store')).toBe(true);
  });

  it('a repeated key keeps the last value; several field lines are one dictionary', () => {
    expect(parseTargetedField('max-age=10, max-age=20')?.get('max-age')).toBe('20');
    expect(parseTargetedField(['max-age=10', 'public'])?.get('public')).toBe(true);
  });

  it('a valid targeted field wins over Cache-Control; CDN-Cache-Control over Surrogate-Control', () => {
    const headers = {
      'cdn-cache-control': 'max-age=30',
      'surrogate-control': 'max-age=60',
      'cache-control': 'no-store',
    };
    expect(responsePolicy(headers)).toMatchObject({ source: 'cdn-cache-control' });
    expect(responsePolicy({ ...headers, 'cdn-cache-control': 'bad value' })).toMatchObject({
      source: 'surrogate-control',
    });
  });
});
