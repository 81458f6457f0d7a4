import { describe, expect, it } from 'vitest';
import {
  evaluatePreconditions,
  ifRangeMatches,
  mergeNotModified,
  notModifiedHeaders,
  notModifiedSelects,
  parseEntityTags,
  revalidationHeaders,
} from '../../../src/policy/conditional.js';

const LM = 'Sun, 06 Nov 1994 08:49:37 GMT';
const BEFORE = 'Sat, 05 Nov 1994 08:49:37 GMT';
const AFTER = 'Mon, 07 Nov 1994 08:49:37 GMT';
const res = { etag: '"v1"', 'last-modified': LM };
const weakRes = { etag: 'W/"v1"', 'last-modified': LM };

describe('evaluatePreconditions (RFC 9110 §13.2.2)', () => {
  it.each([
    // [why, method, request headers, response headers, outcome]
    ['no conditionals', 'GET', {}, res, 'proceed'],
    ['If-None-Match matches (§13.1.2)', 'GET', { 'if-none-match': '"v1"' }, res, 'not-modified'],
    [
      'If-None-Match weak comparison: W/ on either side matches',
      'GET',
      { 'if-none-match': 'W/"v1"' },
      res,
      'not-modified',
    ],
    ['If-None-Match against a weak ETag', 'GET', { 'if-none-match': '"v1"' }, weakRes, 'not-modified'],
    ['If-None-Match list', 'GET', { 'if-none-match': '"x", "v1"' }, res, 'not-modified'],
    ['If-None-Match no match', 'GET', { 'if-none-match': '"x"' }, res, 'proceed'],
    ['If-None-Match *', 'GET', { 'if-none-match': '*' }, res, 'not-modified'],
    ['If-None-Match on HEAD', 'HEAD', { 'if-none-match': '"v1"' }, res, 'not-modified'],
    [
      'If-None-Match wins over If-Modified-Since (§13.1.3)',
      'GET',
      { 'if-none-match': '"x"', 'if-modified-since': AFTER },
      res,
      'proceed',
    ],
    ['If-Modified-Since not modified (§13.1.3)', 'GET', { 'if-modified-since': LM }, res, 'not-modified'],
    ['If-Modified-Since later date', 'GET', { 'if-modified-since': AFTER }, res, 'not-modified'],
    ['If-Modified-Since modified since', 'GET', { 'if-modified-since': BEFORE }, res, 'proceed'],
    ['If-Modified-Since invalid date is ignored', 'GET', { 'if-modified-since': 'yesterday' }, res, 'proceed'],
    [
      'If-Modified-Since without Last-Modified or Date',
      'GET',
      { 'if-modified-since': AFTER },
      { etag: '"v1"' },
      'proceed',
    ],
    // RFC 9111 §4.3.2: without Last-Modified, the stored response's Date stands in for it.
    ['If-Modified-Since judged by Date', 'GET', { 'if-modified-since': AFTER }, { date: LM }, 'not-modified'],
    ['If-Modified-Since before Date', 'GET', { 'if-modified-since': BEFORE }, { date: LM }, 'proceed'],
    [
      'Last-Modified wins over Date',
      'GET',
      { 'if-modified-since': LM },
      { date: AFTER, 'last-modified': AFTER },
      'proceed',
    ],
    ['If-Match strong match (§13.1.1)', 'GET', { 'if-match': '"v1"' }, res, 'proceed'],
    ['If-Match fails', 'GET', { 'if-match': '"x"' }, res, 'precondition-failed'],
    ['If-Match needs a strong comparison', 'GET', { 'if-match': 'W/"v1"' }, res, 'precondition-failed'],
    ['If-Match against a weak ETag', 'GET', { 'if-match': '"v1"' }, weakRes, 'precondition-failed'],
    ['If-Match *', 'GET', { 'if-match': '*' }, res, 'proceed'],
    ['If-Unmodified-Since holds (§13.1.4)', 'GET', { 'if-unmodified-since': LM }, res, 'proceed'],
    ['If-Unmodified-Since fails', 'GET', { 'if-unmodified-since': BEFORE }, res, 'precondition-failed'],
    [
      'If-Match wins over If-Unmodified-Since',
      'GET',
      { 'if-match': '"v1"', 'if-unmodified-since': BEFORE },
      res,
      'proceed',
    ],
    [
      'If-Match is checked before If-None-Match',
      'GET',
      { 'if-match': '"x"', 'if-none-match': '"v1"' },
      res,
      'precondition-failed',
    ],
  ] as const)('%s', (_why, method, req, response, outcome) => {
    expect(evaluatePreconditions(method, req, 200, response)).toBe(outcome);
  });

  it('applies only to 2xx responses (§13.1)', () => {
    expect(evaluatePreconditions('GET', { 'if-none-match': '"v1"' }, 404, res)).toBe('proceed');
    expect(evaluatePreconditions('GET', { 'if-match': '"x"' }, 301, res)).toBe('proceed');
  });
});

describe('entity tags', () => {
  it('parses lists, weak tags and commas inside quotes', () => {
    expect(parseEntityTags('W/"a", "b,c" ,"d"')).toEqual([
      { weak: true, opaque: '"a"' },
      { weak: false, opaque: '"b,c"' },
      { weak: false, opaque: '"d"' },
    ]);
    expect(parseEntityTags(' * ')).toBe('*');
  });
});

describe('304 and revalidation headers', () => {
  it('a 304 carries the metadata fields of §15.4.5, not the content fields', () => {
    const out = notModifiedHeaders({
      'cache-control': 'max-age=60',
      etag: '"v1"',
      date: LM,
      expires: LM,
      vary: 'Accept',
      'content-location': '/x',
      'last-modified': LM,
      'content-type': 'text/plain',
      'content-length': '10',
    });
    expect(Object.keys(out).sort()).toEqual([
      'cache-control',
      'content-location',
      'date',
      'etag',
      'expires',
      'last-modified',
      'vary',
    ]);
  });

  it('revalidation sends the stored validators (RFC 9111 §4.3.1)', () => {
    expect(revalidationHeaders(res)).toEqual({ 'if-none-match': '"v1"', 'if-modified-since': LM });
    expect(revalidationHeaders({})).toEqual({});
  });
});

describe('If-Range (§13.1.5)', () => {
  it.each([
    [{}, true],
    [{ 'if-range': '"v1"' }, true],
    [{ 'if-range': '"v2"' }, false],
    [{ 'if-range': 'W/"v1"' }, false], // weak tags never match If-Range
    [{ 'if-range': LM }, true],
    [{ 'if-range': BEFORE }, false],
  ] as const)('%j → %s', (req, ok) => {
    expect(ifRangeMatches(req, res)).toBe(ok);
  });
});

describe('updating a stored response from a 304 (RFC 9111 §3.2, §4.3.4)', () => {
  it.each([
    ['same strong ETag', { etag: '"v1"' }, true],
    ['another strong ETag', { etag: '"v2"' }, false],
    ['weak ETag matching by weak comparison', { etag: 'W/"v1"' }, true],
    ['same Last-Modified', { 'last-modified': LM }, true],
    ['another Last-Modified', { 'last-modified': BEFORE }, false],
    ['no validator', { 'cache-control': 'max-age=1' }, true],
  ] as const)('a 304 with %s selects the stored response: %s', (_why, notModified, selects) => {
    expect(notModifiedSelects(res, notModified)).toBe(selects);
  });

  it('replaces every field the 304 carries, keeps Content-Length and never takes Set-Cookie', () => {
    const merged = mergeNotModified(
      [
        ['content-type', 'text/plain'],
        ['content-length', '10'],
        ['x-a', '1'],
        ['x-a', '2'],
        ['cache-control', 'max-age=1'],
      ],
      { 'x-a': 'new', 'cache-control': 'max-age=60', 'content-length': '0', 'set-cookie': 'a=b', 'x-new': 'yes' },
    );
    expect(merged).toEqual({
      'content-type': 'text/plain',
      'content-length': '10',
      'x-a': 'new',
      'cache-control': 'max-age=60',
      'x-new': 'yes',
    });
  });
});
