import { describe, expect, it } from 'vitest';
import { CompiledRules, cookieValue, mediaTypeIn, type RuleRequest, responseRule } from '../../../src/rules/match.js';
import { cacheRule } from '../../../src/rules/schema.js';

const rules = (...input: unknown[]) => new CompiledRules(input.map((rule) => cacheRule.parse(rule)));
const request = (path: string, headers: Record<string, string> = {}, method = 'GET'): RuleRequest => ({
  method,
  path,
  headers,
});
/** The name of the rule whose request decisions apply, or undefined. */
const decides = (compiled: CompiledRules, req: RuleRequest) => compiled.match(req).request?.name;

describe('cache rules: request conditions', () => {
  const cases: [string, unknown, RuleRequest, boolean][] = [
    ['path glob', { path: '/img/*.png' }, request('/img/a/b.png'), true],
    ['path glob, other extension', { path: '/img/*.png' }, request('/img/a.jpg'), false],
    ['path glob, ? is one character', { path: '/v?/app.js' }, request('/v2/app.js'), true],
    ['prefix', { prefix: '/static/' }, request('/static/app.css'), true],
    ['prefix, elsewhere', { prefix: '/static/' }, request('/statics/app.css'), false],
    ['method', { methods: ['GET', 'HEAD'] }, request('/', {}, 'HEAD'), true],
    ['method, other', { methods: ['GET'] }, request('/', {}, 'POST'), false],
    ['extension, any case', { extensions: ['JPG', 'png'] }, request('/a/B.JpG'), true],
    ['extension of a directory', { extensions: ['png'] }, request('/a.png/b'), false],
    ['extension of a dotfile', { extensions: ['env'] }, request('/.env'), false],
    ['header present', { header: { name: 'X-Preview' } }, request('/', { 'x-preview': '1' }), true],
    ['header absent but wanted', { header: { name: 'X-Preview' } }, request('/'), false],
    ['header must be absent', { header: { name: 'authorization', present: false } }, request('/'), true],
    [
      'header must be absent, is there',
      { header: { name: 'authorization', present: false } },
      request('/', { authorization: 'x' }),
      false,
    ],
    ['header value', { header: { name: 'x-tier', value: 'gold' } }, request('/', { 'x-tier': 'gold' }), true],
    ['header value, other', { header: { name: 'x-tier', value: 'gold' } }, request('/', { 'x-tier': 'Gold' }), false],
    ['cookie present', { cookie: { name: 'session' } }, request('/', { cookie: 'a=1; session=xyz' }), true],
    ['cookie absent', { cookie: { name: 'session' } }, request('/', { cookie: 'sessionid=1' }), false],
    ['cookie value', { cookie: { name: 'currency', value: 'EUR' } }, request('/', { cookie: 'currency=EUR' }), true],
    ['cookie must be absent', { cookie: { name: 'session', present: false } }, request('/', { cookie: 'a=1' }), true],
    ['all conditions at once', { prefix: '/p/', extensions: ['html'], methods: ['GET'] }, request('/p/x.html'), true],
    [
      'all conditions, one fails',
      { prefix: '/p/', extensions: ['html'], methods: ['GET'] },
      request('/p/x.htm'),
      false,
    ],
    ['no conditions match everything', {}, request('/anything'), true],
  ];
  for (const [name, match, req, expected] of cases) {
    it(name, () => {
      expect(rules({ match, edgeTtl: '1m' }).match(req).candidates.length === 1).toBe(expected);
    });
  }

  it('reads a cookie among several, and the first of a repeated name', () => {
    expect(cookieValue({ cookie: 'a=1; b=2;c=3' }, 'c')).toBe('3');
    expect(cookieValue({ cookie: 'a=1; a=2' }, 'a')).toBe('1');
    expect(cookieValue({}, 'a')).toBeUndefined();
  });
});

describe('cache rules: response conditions', () => {
  it('status and content type (exact or a whole type)', () => {
    const [rule] = rules({ match: { status: [404, 410], contentType: ['text/html', 'image/*'] }, edgeTtl: '1m' }).match(
      request('/'),
    ).candidates;
    expect(rule?.onResponse?.(404, 'text/html; charset=utf-8')).toBe(true);
    expect(rule?.onResponse?.(410, 'image/webp')).toBe(true);
    expect(rule?.onResponse?.(200, 'text/html')).toBe(false);
    expect(rule?.onResponse?.(404, 'application/json')).toBe(false);
    expect(rule?.onResponse?.(404, undefined)).toBe(false);
  });

  it('media ranges', () => {
    expect(mediaTypeIn('IMAGE/PNG', ['image/*'])).toBe(true);
    expect(mediaTypeIn('image/png', ['image/jpeg'])).toBe(false);
    expect(mediaTypeIn('not a type', ['image/*'])).toBe(false);
  });
});

describe('cache rules: first match wins', () => {
  const compiled = rules(
    { name: 'errors', match: { status: [404] }, edgeTtl: '1m' },
    { name: 'no cart', match: { prefix: '/cart' }, bypass: true },
    { name: 'static', match: { prefix: '/static/' }, edgeTtl: '1d' },
    { name: 'everything', match: {}, edgeTtl: '5m' },
  );

  it('request decisions come from the first rule that does not look at the response', () => {
    expect(decides(compiled, request('/cart/items'))).toBe('no cart');
    expect(decides(compiled, request('/static/a.css'))).toBe('static');
    expect(decides(compiled, request('/about'))).toBe('everything');
  });

  it('response decisions from the first rule whose conditions all hold', () => {
    const matched = compiled.match(request('/static/a.css'));
    expect(responseRule(matched, 404, 'text/html')?.name).toBe('errors');
    expect(responseRule(matched, 200, 'text/css')?.name).toBe('static');
  });

  it('a service without rules matches nothing, allocating nothing', () => {
    const none = new CompiledRules([]);
    expect(none.match(request('/a'))).toBe(none.match(request('/b')));
    expect(none.match(request('/a')).request).toBeUndefined();
  });

  it('unnamed rules are named by position', () => {
    expect(decides(rules({ match: {}, edgeTtl: '1m' }), request('/'))).toBe('#1');
  });
});

describe('cache rules: what the schema refuses', () => {
  const refused: [string, unknown, string][] = [
    [
      'a request decision on a response condition',
      { match: { status: [404] }, bypass: true },
      'act before the origin answers',
    ],
    ['a key change on a response condition', { match: { contentType: ['image/*'] }, query: 'ignore' }, 'act before'],
    ['a bypass with something to store', { match: {}, bypass: true, edgeTtl: '1d' }, 'stores nothing'],
    ['an unknown action', { match: {}, cache: true }, 'Unrecognized key'],
    ['a bad header name', { match: { header: { name: 'a b' } } }, 'header or cookie name'],
    ['a value of an absent field', { match: { header: { name: 'a', value: 'x', present: false } } }, 'absent field'],
    ['a status that is not one', { match: {}, statusTtl: { '99': '1m' } }, 'status code'],
    ['a media type that is not one', { match: {}, noStoreTypes: ['json'] }, 'media type'],
    ['a lower-case method', { match: { methods: ['get'] } }, 'upper-case'],
  ];
  for (const [name, input, message] of refused) {
    it(name, () => {
      const parsed = cacheRule.safeParse(input);
      expect(parsed.success).toBe(false);
      expect(JSON.stringify(parsed.error?.issues)).toContain(message);
    });
  }
});
