import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acceptEncodingBucket, originAcceptEncoding } from '../../../src/key/accept-encoding.js';

describe('acceptEncodingBucket (RFC 9110 §12.5.3)', () => {
  it.each([
    [undefined, 'identity'],
    ['', 'identity'],
    ['gzip', 'gzip'],
    ['gzip, deflate, br', 'br,gzip'],
    ['br;q=1.0, gzip;q=0.8, *;q=0.1', 'br,gzip'],
    ['GZIP', 'gzip'],
    ['x-gzip', 'gzip'],
    ['gzip;q=0', 'identity'],
    ['gzip;q=0, br', 'br'],
    ['*', 'br,gzip'],
    ['*;q=0', 'identity'],
    ['*, gzip;q=0', 'br'],
    ['deflate', 'identity'],
    ['zstd, br', 'br'],
    ['identity', 'identity'],
    ['gzip;q=abc', 'identity'], // an invalid weight accepts nothing
    ['gzip;q=0.000', 'identity'],
  ])('%j → %s', (header, bucket) => {
    expect(acceptEncodingBucket(header)).toBe(bucket);
  });

  it('sends the origin the canonical set only', () => {
    expect(originAcceptEncoding('br')).toBe('br, gzip');
    expect(originAcceptEncoding('identity')).toBe('identity');
  });

  it('spelling within one bucket never changes the bucket', () => {
    const spelling = (name: string) =>
      fc
        .tuple(fc.constantFrom(name, name.toUpperCase()), fc.constantFrom('', ';q=1', ';q=0.5', ' ; q=0.9'))
        .map(([n, q]) => `${n}${q}`);
    fc.assert(
      fc.property(
        fc.shuffledSubarray(['gzip', 'br', 'deflate'], { minLength: 1 }),
        fc.constantFrom(', ', ',', ' ,  '),
        fc.infiniteStream(fc.boolean()),
        (codings, sep, upper) => {
          const plain = codings.join(', ');
          const spelled = codings.map(
            (c) => fc.sample(spelling(c), { numRuns: 1, seed: upper.next().value ? 1 : 2 })[0],
          );
          expect(acceptEncodingBucket(spelled.join(sep))).toBe(acceptEncodingBucket(plain));
        },
      ),
    );
  });
});
