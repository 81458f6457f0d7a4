import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { primaryKey, variantKey } from '../../../src/key/cache-key.js';
import { keySpace, servicePrefix, shardOf, shardPrefix } from '../../../src/store/keys.js';

/** Every key of one space, as the store and its scripts build them. */
function keysOf(prefix: string): string[] {
  const space = keySpace(prefix);
  return [
    space.entry('h1'),
    space.entry('h2'),
    space.vary('p'),
    space.variants('p'),
    `${prefix}e:zz`, // keys scripts derive from the prefix
    space.pending,
    space.freq,
    space.expiry,
    space.info,
    space.hits,
    space.path,
    space.tag('image/png'),
    space.stats,
  ];
}

const url = (path: string) =>
  primaryKey({ service: 'shop', scheme: 'https', authority: 'shop.test', methodClass: 'GET', path, query: '' });

describe('Redis keys', () => {
  it('every key of one space hashes to one cluster slot', () => {
    for (const service of ['shop', 'a-b_c', 'x']) {
      expect(new Set(keysOf(servicePrefix(service)).map((k) => calculateSlot(k))).size).toBe(1);
      for (const shard of [0, 3, 15]) {
        expect(new Set(keysOf(shardPrefix(service, shard, 16)).map((k) => calculateSlot(k))).size).toBe(1);
      }
    }
  });

  it('one space is the service’s own tag; several spread the service over as many slots', () => {
    expect(shardPrefix('shop', 0, 1)).toBe('cf:{shop}:');
    const slots = new Set(Array.from({ length: 16 }, (_, n) => calculateSlot(shardPrefix('shop', n, 16))));
    expect(slots.size).toBe(16);
  });

  it('all hashes of a URL — its variants, its objects — fall in the URL’s space; URLs spread evenly', () => {
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 4000; i++) {
      const primary = url(`/page/${i}`);
      const shard = shardOf(primary.hash, 8);
      counts[shard]++;
      for (const value of ['gzip', 'br', 'identity']) {
        expect(shardOf(variantKey(primary, ['accept-encoding'], [value]).hash, 8)).toBe(shard);
      }
    }
    // 500 expected per space: none below 400 or above 600.
    for (const n of counts) expect(n).toBeGreaterThan(400);
    for (const n of counts) expect(n).toBeLessThan(600);
  });

  it('services never share a prefix', () => {
    expect(keySpace(servicePrefix('ab')).entry('c').startsWith(servicePrefix('a'))).toBe(false);
    expect(servicePrefix('shop')).toBe('cf:{shop}:');
    expect(shardPrefix('shop', 1, 4).startsWith(servicePrefix('sho'))).toBe(false);
  });
});
