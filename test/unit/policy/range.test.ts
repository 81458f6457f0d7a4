import { describe, expect, it } from 'vitest';
import { contentRange, decideRange } from '../../../src/policy/range.js';

describe('decideRange (RFC 9110 §14)', () => {
  it.each([
    ['no header', undefined, 100, { kind: 'full' }],
    ['first bytes', 'bytes=0-9', 100, { kind: 'partial', range: { start: 0, end: 9 } }],
    ['open-ended', 'bytes=90-', 100, { kind: 'partial', range: { start: 90, end: 99 } }],
    ['suffix', 'bytes=-10', 100, { kind: 'partial', range: { start: 90, end: 99 } }],
    ['suffix longer than the body', 'bytes=-500', 100, { kind: 'partial', range: { start: 0, end: 99 } }],
    ['end past the body is clipped', 'bytes=50-500', 100, { kind: 'partial', range: { start: 50, end: 99 } }],
    [
      'unit is case-insensitive, spaces allowed',
      'Bytes = 0 - 1',
      100,
      { kind: 'partial', range: { start: 0, end: 1 } },
    ],
    ['overlapping ranges merge', 'bytes=0-10, 5-20', 100, { kind: 'partial', range: { start: 0, end: 20 } }],
    ['adjacent ranges merge', 'bytes=0-9,10-19', 100, { kind: 'partial', range: { start: 0, end: 19 } }],
    ['disjoint ranges: the whole body', 'bytes=0-1, 50-51', 100, { kind: 'full' }],
    ['start past the end: 416', 'bytes=100-', 100, { kind: 'unsatisfiable' }],
    ['suffix of zero: 416', 'bytes=-0', 100, { kind: 'unsatisfiable' }],
    ['empty representation: 416', 'bytes=0-', 0, { kind: 'unsatisfiable' }],
    [
      'one satisfiable among unsatisfiable',
      'bytes=200-300, 0-4',
      100,
      { kind: 'partial', range: { start: 0, end: 4 } },
    ],
    ['other units are ignored', 'items=0-1', 100, { kind: 'full' }],
    ['last < first is invalid: ignored', 'bytes=9-0', 100, { kind: 'full' }],
    ['garbage is ignored', 'bytes=abc', 100, { kind: 'full' }],
  ] as const)('%s', (_why, header, length, expected) => {
    expect(decideRange(header, length)).toEqual(expected);
  });

  it('formats Content-Range', () => {
    expect(contentRange({ start: 0, end: 9 }, 100)).toBe('bytes 0-9/100');
  });
});
