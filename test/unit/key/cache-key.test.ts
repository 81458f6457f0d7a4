import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { primaryKey, serialiseParts, variantKey } from '../../../src/key/cache-key.js';
import { deviceClassifier } from '../../../src/key/device.js';
import { compileQueryRules, normaliseTarget } from '../../../src/key/url.js';
import { canonicalList, parseVary, varyValues } from '../../../src/key/vary.js';

const base = {
  service: 's',
  scheme: 'https',
  authority: 'example.com',
  methodClass: 'GET',
  path: '/',
  query: '',
} as const;
const vary = {
  classifyDevice: deviceClassifier({ detect: 'ua-parser', tablets: 'desktop', rules: [], fallback: 'desktop' }),
};

describe('serialiseParts', () => {
  it('is unambiguous: different part lists never serialise alike', () => {
    const part = fc.option(fc.string({ maxLength: 6 }), { nil: undefined });
    fc.assert(
      fc.property(fc.array(part, { maxLength: 5 }), fc.array(part, { maxLength: 5 }), (a, b) => {
        fc.pre(JSON.stringify(a) !== JSON.stringify(b));
        expect(serialiseParts(a)).not.toBe(serialiseParts(b));
      }),
    );
  });

  it('does not collide where plain concatenation would (the Varnish hash lesson)', () => {
    expect(serialiseParts(['a', 'bc'])).not.toBe(serialiseParts(['ab', 'c']));
    expect(serialiseParts(['', 'x'])).not.toBe(serialiseParts(['x', '']));
    expect(serialiseParts([undefined])).not.toBe(serialiseParts(['']));
  });
});

describe('primaryKey', () => {
  it.each([
    ['service', { service: 't' }],
    ['host', { authority: 'example.org' }],
    ['host port', { authority: 'example.com:8443' }],
    ['path', { path: '/x' }],
    ['query', { query: 'a=1' }],
  ] as const)('changes with the %s', (_name, change) => {
    expect(primaryKey({ ...base, ...change }).hash).not.toBe(primaryKey(base).hash);
  });

  it('is one for http and https: the scheme splits entries only where the origin varies on it', () => {
    expect(primaryKey({ ...base, scheme: 'http' }).hash).toBe(primaryKey(base).hash);
    expect(primaryKey({ ...base, scheme: 'http' }).readable).toBe('GET http://example.com/');
  });

  it('path and query boundaries cannot be confused', () => {
    const a = primaryKey({ ...base, path: '/a?b', query: '' });
    const b = primaryKey({ ...base, path: '/a', query: 'b' });
    expect(a.hash).not.toBe(b.hash);
  });

  it('has a readable form', () => {
    expect(primaryKey({ ...base, path: '/p', query: 'a=1' }).readable).toBe('GET https://example.com/p?a=1');
  });
});

const keyOf = (target: string, headers: Record<string, string>, varyHeader?: string) => {
  const rules = compileQueryRules({ drop: ['utm_*', 'fbclid', 'gclid'] });
  const t = normaliseTarget(target, rules);
  if (!t) throw new Error('bad target');
  const primary = primaryKey({ ...base, path: t.path, query: t.query });
  const parsed = parseVary(varyHeader);
  const names = parsed.kind === 'names' ? parsed.names : [];
  return variantKey(primary, names, varyValues(names, headers, vary)).hash;
};

const MOBILE_UAS = [
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36',
];
const DESKTOP_UAS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0',
];

describe('the variant key: what must and must not change it', () => {
  it('parameter order, dropped parameters, AE spelling and UA within a bucket never change it', () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(['a=1', 'b=2', 'c=3', 'utm_source=x', 'fbclid=y'], { minLength: 0 }),
        fc.constantFrom('gzip, br', 'br,gzip', 'GZIP;q=1, BR', 'br;q=0.5, gzip, deflate'),
        fc.constantFrom(...MOBILE_UAS),
        (params, ae, ua) => {
          const kept = params.filter((p) => !p.startsWith('utm_') && !p.startsWith('fbclid')).sort();
          const reference = keyOf(
            `/p?${kept.join('&')}`,
            { 'accept-encoding': 'br, gzip', 'user-agent': MOBILE_UAS[0] as string },
            'Accept-Encoding, User-Agent',
          );
          expect(
            keyOf(`/p?${params.join('&')}`, { 'accept-encoding': ae, 'user-agent': ua }, 'accept-encoding,user-agent'),
          ).toBe(reference);
        },
      ),
    );
  });

  it('anything the origin varies on always changes it', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('accept-language', 'x-country', 'origin', 'cookie'),
        fc.string({ minLength: 1, maxLength: 8 }).filter((s) => s.trim() === s && s.length > 0),
        fc.string({ minLength: 1, maxLength: 8 }).filter((s) => s.trim() === s && s.length > 0),
        (header, v1, v2) => {
          // Values that match under RFC 9111 §4.1 (case in a case-insensitive list, optional
          // whitespace) are the same value; any other difference must change the key.
          const lowerCase = header === 'accept-language';
          fc.pre(canonicalList(v1, lowerCase) !== canonicalList(v2, lowerCase));
          expect(keyOf('/p', { [header]: v1 }, header)).not.toBe(keyOf('/p', { [header]: v2 }, header));
          // and a missing header differs from any value, even an empty one
          expect(keyOf('/p', {}, header)).not.toBe(keyOf('/p', { [header]: '' }, header));
        },
      ),
    );
  });

  it('mobile and desktop buckets differ under Vary: User-Agent; the raw UA does not matter otherwise', () => {
    for (const m of MOBILE_UAS) {
      for (const d of DESKTOP_UAS) {
        expect(keyOf('/p', { 'user-agent': m }, 'User-Agent')).not.toBe(keyOf('/p', { 'user-agent': d }, 'User-Agent'));
        expect(keyOf('/p', { 'user-agent': m })).toBe(keyOf('/p', { 'user-agent': d }));
      }
    }
  });

  it('accept-encoding keys by the coding served: br (reads br and gzip), gzip or identity', () => {
    const key = (ae: string | undefined) => keyOf('/p', ae ? { 'accept-encoding': ae } : {}, 'Accept-Encoding');
    const keys = new Set(['gzip', 'br', 'br, gzip', undefined].map(key));
    expect(keys.size).toBe(3);
    // Clients served alike share an entry; the others never do.
    expect(key('br, gzip')).toBe(key('gzip, deflate, br'));
    expect(key('gzip')).not.toBe(key('br, gzip'));
    expect(key(undefined)).toBe(key('identity'));
    // A client that reads br but not gzip could not read the gzip bytes of the `br` key: identity.
    expect(key('br')).toBe(key('identity'));
  });

  it('Vary names in any case, order or repetition select the same variant', () => {
    const h = { 'accept-language': 'fr', 'x-a': '1' };
    expect(keyOf('/p', h, 'Accept-Language, X-A')).toBe(keyOf('/p', h, 'x-a,ACCEPT-LANGUAGE, x-a'));
  });
});
