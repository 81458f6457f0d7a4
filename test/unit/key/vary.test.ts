import { describe, expect, it } from 'vitest';
import { parseVary } from '../../../src/key/vary.js';

describe('parseVary (RFC 9110 §12.5.5)', () => {
  it.each([
    [undefined, { kind: 'names', names: [] }],
    ['', { kind: 'names', names: [] }],
    ['Accept-Encoding', { kind: 'names', names: ['accept-encoding'] }],
    ['User-Agent, accept-encoding, USER-AGENT', { kind: 'names', names: ['accept-encoding', 'user-agent'] }],
    [['Accept-Language', 'Origin'], { kind: 'names', names: ['accept-language', 'origin'] }],
    ['*', { kind: 'star' }],
    ['Accept, *', { kind: 'star' }],
    [['Accept', ' * '], { kind: 'star' }],
    [' , ,Accept', { kind: 'names', names: ['accept'] }],
  ])('%j', (header, parsed) => {
    expect(parseVary(header)).toEqual(parsed);
  });
});
