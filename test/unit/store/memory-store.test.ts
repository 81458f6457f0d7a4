import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { singleObject } from '../../../src/store/single-object.js';
import { makeEntry } from '../../helpers/entries.js';

const LIMITS = { maxObjects: 50_000, lfuHalfLifeMs: 86_400_000 };
const NOW = 1_800_000_000_000;
const put = (store: MemoryStore, key: string, bytes: number, now = NOW) =>
  store.put(
    singleObject({
      service: 's',
      primaryKey: key,
      entryKey: key,
      entry: makeEntry(Buffer.alloc(bytes), { now: NOW, deleteAt: NOW + 60_000 }),
      ...LIMITS,
    }),
    now,
  );

describe('MemoryStore bounds', () => {
  it('keeps a service within its object cap, least recently used first, other services untouched', async () => {
    const store = new MemoryStore({ maxBytes: 1 << 20 });
    const write = (service: string, key: string, now: number) =>
      store.put(
        singleObject({
          service,
          primaryKey: key,
          entryKey: key,
          entry: makeEntry('x', { now, deleteAt: NOW + 60_000 }),
          maxObjects: 3,
          lfuHalfLifeMs: 86_400_000,
        }),
        now,
      );
    for (const key of ['a', 'b', 'c']) await write('s', key, NOW);
    await write('other', 'z', NOW);
    expect(store.getNow('s', 'a', NOW + 2_000)).toBeDefined(); // a used again: b is the oldest now
    await write('s', 'd', NOW + 2_000);
    await write('s', 'e', NOW + 2_000);
    const held = ['a', 'b', 'c', 'd', 'e'].filter((k) => store.getNow('s', k, NOW + 2_000) !== undefined);
    expect(held).toEqual(['a', 'd', 'e']);
    expect(store.getNow('other', 'z', NOW + 2_000)).toBeDefined();
    expect((await store.readStats('s')).evictions).toBe(2);
    expect((await store.readStats('s')).entries).toBe(3);
  });

  it('never holds more than its byte budget; the least recently used leave first', async () => {
    const store = new MemoryStore({ maxBytes: 17_000 }); // three entries fit (each 3,000 + about 2,200 of overhead), four do not
    await put(store, 'a', 3_000);
    await put(store, 'b', 3_000);
    await put(store, 'c', 3_000, NOW + 2_000);
    expect(store.getNow('s', 'a', NOW + 2_000)).toBeDefined(); // a is used again, b is now the oldest
    await put(store, 'd', 3_000, NOW + 2_000);
    expect(store.usedBytes).toBeLessThanOrEqual(17_000);
    expect(store.getNow('s', 'b', NOW + 2_000)).toBeUndefined();
    expect(store.getNow('s', 'a', NOW + 2_000)).toBeDefined();
    expect(store.getNow('s', 'd', NOW + 2_000)).toBeDefined();
  });

  it('keeps nothing longer than maxTtlMs (the L1 bound), whatever the entry’s own deadline', async () => {
    const store = new MemoryStore({ maxBytes: 1_000_000, maxTtlMs: 1_000 });
    await put(store, 'a', 10);
    expect(store.getNow('s', 'a', NOW + 999)).toBeDefined();
    expect(store.getNow('s', 'a', NOW + 1_000)).toBeUndefined();
  });

  it('does not hold entries over maxEntryBytes, and maxBytes 0 holds nothing', async () => {
    const small = new MemoryStore({ maxBytes: 1_000_000, maxEntryBytes: 2_000 });
    await put(small, 'big', 5_000);
    expect(small.size).toBe(0);
    const off = new MemoryStore({ maxBytes: 0 });
    await put(off, 'a', 1);
    expect(off.size).toBe(0);
  });
});
