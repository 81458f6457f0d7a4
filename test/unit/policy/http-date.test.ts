import { describe, expect, it } from 'vitest';
import { parseHttpDate } from '../../../src/policy/http-date.js';

const T = Date.UTC(1994, 10, 6, 8, 49, 37);

describe('parseHttpDate (RFC 9110 §5.6.7)', () => {
  it.each([
    ['Sun, 06 Nov 1994 08:49:37 GMT', T],
    ['Sunday, 06-Nov-94 08:49:37 GMT', T],
    ['Sun Nov  6 08:49:37 1994', T],
    ['sun, 06 nov 1994 08:49:37 gmt', T],
  ])('%s', (value, expected) => {
    expect(parseHttpDate(value)).toBe(expected);
  });

  it.each([
    '0',
    '-1',
    '',
    'yesterday',
    '2024-01-01T00:00:00Z',
    'Sun, 06 Nov 1994 08:49:37 PST',
    'Sun, 32 Nov 1994 08:49:37 GMT',
  ])('rejects %j', (value) => {
    expect(parseHttpDate(value)).toBeUndefined();
  });
});
