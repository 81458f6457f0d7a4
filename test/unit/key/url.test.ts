import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileQueryRules, normalisePath, normaliseQuery, normaliseTarget } from '../../../src/key/url.js';

const defaults = compileQueryRules({ drop: ['utm_*', 'fbclid', 'gclid'] });
const none = compileQueryRules({ drop: [] });

describe('normalisePath (RFC 3986 §6.2.2: only changes that cannot change meaning)', () => {
  it.each([
    ['/a/b', '/a/b'],
    ['/%7euser', '/~user'], // encoded unreserved characters are decoded
    ['/%41%42c', '/ABc'],
    ['/a%2fb', '/a%2Fb'], // %2F stays encoded (never a path separator), hex upper-cased
    ['/a%2Fb', '/a%2Fb'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['/a b', '/a%20b'], // bytes that may not appear raw are encoded
    ['/café', '/caf%C3%A9'],
    ['/a/../b', '/a/../b'], // dot segments are left to the origin, as it will see them
    ['/a//b', '/a//b'],
    ['/a;p=1', '/a;p=1'],
    ['/%2e%2e/x', '/../x'], // "." is unreserved: %2E and "." mean the same
  ])('%s → %s', (input, expected) => {
    expect(normalisePath(input)).toBe(expected);
  });

  it.each(['/a%zz', '/a%2', 'relative', ''])('rejects %j', (input) => {
    expect(normalisePath(input)).toBeUndefined();
  });
});

describe('normaliseQuery', () => {
  it.each([
    ['b=2&a=1', 'a=1&b=2'],
    ['a=2&a=1', 'a=1&a=2'], // same name: sorted by value
    ['a=1&&b=2&', 'a=1&b=2'], // empty parameters removed
    ['utm_source=x&q=1&fbclid=y&gclid=z', 'q=1'],
    ['utm_source=x', ''],
    ['flag&flag=', 'flag&flag='], // a bare name and an empty value stay distinct
    ['a=%7e', 'a=~'],
    ['a=b+c&a=b%20c', 'a=b%20c&a=b+c'], // + and %20 stay distinct (the origin decides)
    ['a=1;b=2', 'a=1;b=2'], // ";" is not a delimiter here, for the key and the origin alike
    ['utm%5Fsource=x', ''], // an encoded name is matched decoded
    ['Utm_source=x', 'Utm_source=x'], // globs are case-sensitive
  ])('%s → %s', (input, expected) => {
    expect(normaliseQuery(input, defaults)).toBe(expected);
  });

  it('keeps only listed parameters with keepQueryOnly', () => {
    const keep = compileQueryRules({ drop: [], keepOnly: ['page', 'q*'] });
    expect(normaliseQuery('x=1&page=2&query=z&utm_source=a', keep)).toBe('page=2&query=z');
  });

  it('rejects malformed percent-encoding', () => {
    expect(normaliseQuery('a=%G1', none)).toBeUndefined();
  });
});

describe('normaliseTarget', () => {
  it('drops a fragment and splits path and query', () => {
    expect(normaliseTarget('/p?b=1&a=2#frag', none)).toEqual({ path: '/p', query: 'a=2&b=1' });
  });
});

const param = fc
  .tuple(fc.stringMatching(/^[a-z]{1,4}$/), fc.stringMatching(/^[a-z0-9]{0,4}$/))
  .map(([k, v]) => `${k}=${v}`);

describe('query properties', () => {
  it('parameter order never changes the normalised query', () => {
    fc.assert(
      fc.property(fc.array(param, { maxLength: 8 }), fc.infiniteStream(fc.nat()), (params, seeds) => {
        const shuffled = [...params];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = seeds.next().value % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j] as string, shuffled[i] as string];
        }
        expect(normaliseQuery(shuffled.join('&'), defaults)).toBe(normaliseQuery(params.join('&'), defaults));
      }),
    );
  });

  it('dropped parameters never change the normalised query', () => {
    const dropped = fc.constantFrom('utm_source=a', 'utm_medium=b', 'fbclid=c', 'gclid=d', 'utm_=e');
    fc.assert(
      fc.property(fc.array(param, { maxLength: 6 }), fc.array(dropped, { maxLength: 4 }), (params, noise) => {
        const withNoise = [...noise, ...params].join('&');
        expect(normaliseQuery(withNoise, defaults)).toBe(normaliseQuery(params.join('&'), defaults));
      }),
    );
  });

  it('two queries that differ in a kept parameter never normalise alike', () => {
    fc.assert(
      fc.property(fc.array(param, { maxLength: 6 }), param, (params, extra) => {
        const base = normaliseQuery(params.join('&'), defaults);
        const more = normaliseQuery([...params, extra].join('&'), defaults);
        expect(more).not.toBe(base);
      }),
    );
  });
});
