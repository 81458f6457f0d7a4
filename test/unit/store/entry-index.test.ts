import { describe, expect, it } from 'vitest';
import {
  filterFingerprint,
  globPrefix,
  globToLuaPattern,
  globToRegExp,
  MAX_TAG_BYTES,
  MAX_TAGS,
  mediaType,
  parseTags,
} from '../../../src/store/entry-index.js';

describe('entry summaries', () => {
  it.each([
    ['text/html; charset=utf-8', 'text/html'],
    [' Image/PNG ', 'image/png'],
    ['application/vnd.api+json', 'application/vnd.api+json'],
    ['nonsense', ''],
    ['text/html/extra', ''],
    [undefined, ''],
  ])('media type of %j is %j', (header, expected) => {
    expect(mediaType(header)).toBe(expected);
  });

  it('tags split on spaces and commas, once each, bounded in number and size', () => {
    expect(parseTags(['a b', 'c,d , a'])).toEqual(['a', 'b', 'c', 'd']);
    expect(parseTags([`ok ${'x'.repeat(MAX_TAG_BYTES + 1)} bad\u0001tag`])).toEqual(['ok']);
    const many = Array.from({ length: 200 }, (_, i) => `t${i}`).join(' ');
    expect(parseTags([many])).toHaveLength(MAX_TAGS);
  });

  it.each([
    ['/img/*.png', '/img/a/b.png', true],
    ['/img/*.png', '/img/a.jpg', false],
    ['/a?c', '/abc', true],
    ['/a?c', '/ac', false],
    ['/p.(x)[y]%+-^$', '/p.(x)[y]%+-^$', true],
    ['/p.(x)', '/pa(x)', false],
  ])('glob %j against %j is %j, as a RegExp and as a Lua pattern alike', (glob, path, expected) => {
    expect(globToRegExp(glob).test(path)).toBe(expected);
    // The Lua pattern escapes every magic character with %; the literal prefix narrows the index.
    expect(globToLuaPattern(glob).startsWith('^')).toBe(true);
    expect(path.startsWith(globPrefix(glob)) || !expected).toBe(true);
  });

  it('a filter fingerprint ignores key order and absent conditions', () => {
    expect(filterFingerprint({ tag: 'a', minSize: 1 })).toBe(
      filterFingerprint({ minSize: 1, tag: 'a', maxSize: undefined }),
    );
    expect(filterFingerprint({ tag: 'a' })).not.toBe(filterFingerprint({ tag: 'b' }));
  });
});
