/**
 * Fetch-by-URL's settings and its `ttl=` (KissCache's form): what an operator and a client may say,
 * and the clear error for what they may not.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { CachefrontError } from '../../../src/errors.js';
import { requestedTtl } from '../../../src/fetch/fetch-view.js';

const DAY = 86_400_000;

function serviceWith(fetch: Record<string, unknown>) {
  const config = parseConfig(
    { services: [{ id: 'artefacts', hosts: ['cache.test'], origin: { url: 'http://127.0.0.1:1' }, fetch }] },
    'test',
    {},
  );
  return config.services[0]?.fetch;
}

describe('fetch settings', () => {
  it('default to KissCache: 10 days by default and at most, /fetch, 5 redirects, public upstreams only', () => {
    expect(serviceWith({ allow: ['cdn.kernel.org'], clients: ['10.0.0.0/8'] })).toEqual({
      path: '/fetch',
      allow: ['cdn.kernel.org'],
      clients: ['10.0.0.0/8'],
      defaultTtlMs: 10 * DAY,
      maxTtlMs: 10 * DAY,
      maxRedirects: 5,
      privateNetworks: [],
    });
  });

  it('a shorter maximum shortens the default too', () => {
    expect(serviceWith({ allow: ['*'], clients: ['::/0'], maxTtlMs: '1h' })?.defaultTtlMs).toBe(3_600_000);
  });

  it.each([
    [{ allow: ['cdn.kernel.org'] }, /clients.*list the client networks/s],
    [{ clients: ['10.0.0.0/8'] }, /allow.*list the upstreams/s],
    [{ allow: [], clients: ['10.0.0.0/8'] }, /list the upstreams/],
    [{ allow: ['ftp://mirror.example'], clients: ['10.0.0.0/8'] }, /an http\(s\) URL prefix/],
    [{ allow: ['https://user:pw@mirror.example/'], clients: ['10.0.0.0/8'] }, /an http\(s\) URL prefix/],
    [{ allow: ['*'], clients: ['10.0.0.0/33'] }, /CIDR block/],
    [{ allow: ['*'], clients: ['10.0.0.0/8'], defaultTtlMs: '2d', maxTtlMs: '1d' }, /longer than maxTtlMs/],
    [{ allow: ['*'], clients: ['10.0.0.0/8'], path: '/fetch?x=1' }, /no query/],
  ])('refuses %j with a clear error', (fetch, message) => {
    expect(() => serviceWith(fetch)).toThrow(message);
  });
});

describe('ttl=', () => {
  const settings = serviceWith({ allow: ['*'], clients: ['10.0.0.0/8'], defaultTtlMs: '1d', maxTtlMs: '7d' });
  if (!settings) throw new Error('no fetch settings');

  it.each([
    [null, DAY],
    ['3600', 3_600_000],
    ['90m', 5_400_000],
    ['12h', 12 * 3_600_000],
    ['2d', 2 * DAY],
    ['30s', 30_000],
    ['30d', 7 * DAY], // past the maximum: cut to it
  ])('%s is %d ms', (raw, ms) => {
    expect(requestedTtl(raw, settings)).toBe(ms);
  });

  it.each(['soon', '-1', '1w', '1.5h', ''])('"%s" is a 400 that says what a duration is', (raw) => {
    const answer = requestedTtl(raw, settings);
    expect(answer).toBeInstanceOf(CachefrontError);
    expect((answer as CachefrontError).statusCode).toBe(400);
    expect((answer as CachefrontError).message).toMatch(/not a duration such as 3600, 90m, 12h or 1d/);
  });
});
