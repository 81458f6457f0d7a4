import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { entryKey, indexKeys, servicePrefix, statsKey, variantsKey, varyKey } from '../../../src/store/keys.js';

describe('Redis keys', () => {
  it('every key of a service hashes to one cluster slot', () => {
    for (const service of ['shop', 'a-b_c', 'x']) {
      const slots = new Set(
        [
          entryKey(service, 'h1'),
          entryKey(service, 'h2'),
          varyKey(service, 'p'),
          variantsKey(service, 'p'),
          `${servicePrefix(service)}e:zz`, // keys scripts derive from the prefix
          ...Object.values(indexKeys(service)).map((k) => (typeof k === 'string' ? k : k('image/png'))),
          statsKey(service),
        ].map((k) => calculateSlot(k)),
      );
      expect(slots.size).toBe(1);
    }
  });
  it('services never share a prefix', () => {
    expect(entryKey('ab', 'c').startsWith(servicePrefix('a'))).toBe(false);
    expect(servicePrefix('shop')).toBe('cf:{shop}:');
  });
});
