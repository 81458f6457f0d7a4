import { describe, expect, it } from 'vitest';
import { canonicalList, normaliseVaryValue, parseVary } from '../../../src/key/vary.js';

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

describe('varied values that differ only in optional whitespace or case select one variant (RFC 9111 §4.1)', () => {
  const context = { classifyDevice: () => 'desktop' };
  const value = (name: string, header: string) => normaliseVaryValue(name, { [name]: header }, context);

  it.each([
    ['accept-language', 'en-US,en;q=0.9,fr;q=0.8', 'en-us, en; q=0.9 ,FR;Q=0.8'],
    ['accept-language', 'de', ' DE '],
    ['accept', 'text/html,application/xhtml+xml;q=0.9', 'TEXT/HTML , application/xhtml+xml ; q=0.9'],
    ['accept-charset', 'utf-8, iso-8859-1;q=0.5', 'UTF-8,ISO-8859-1;q=0.5'],
  ])('%s: "%s" = "%s"', (name, a, b) => {
    expect(value(name, a)).toBe(value(name, b));
  });

  it.each([
    ['accept-language', 'en-US', 'fr'],
    ['accept-language', 'en;q=0.9', 'en;q=0.8'],
    ['accept', 'text/html', 'application/json'],
    ['x-api-version', 'A', 'a'], // an unknown field keeps its case
    ['cookie', 'a=1', 'A=1'],
  ])('%s: "%s" and "%s" stay apart', (name, a, b) => {
    expect(value(name, a)).not.toBe(value(name, b));
  });

  it('keeps quoted strings as they are, and significant inner spaces as one', () => {
    expect(canonicalList('text/plain; x="A  B", text/html', true)).toBe('text/plain;x="A  B",text/html');
    expect(canonicalList('a  b,c', false)).toBe('a b,c');
  });
});
