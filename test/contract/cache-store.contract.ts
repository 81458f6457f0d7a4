/**
 * The store contract, run against every CacheStore: the Redis store (real redis-server), the
 * memory store (L1 and embedded) and the tiered store. Times are passed in, never slept through.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { singleObject } from '../../src/store/single-object.js';
import type { CacheStore } from '../../src/store/types.js';
import { makeEntry } from '../helpers/entries.js';

const LIMITS = { maxObjects: 50_000, lfuHalfLifeMs: 86_400_000 };
const NOW = 1_800_000_000_000;

const entry = (body: string, varyNames: string[] = [], deleteAt = NOW + 60_000) =>
  makeEntry(body, { now: NOW, deleteAt, varyNames });

export function describeCacheStore(name: string, makeStore: () => Promise<CacheStore>, teardown?: () => Promise<void>) {
  describe(`CacheStore contract: ${name}`, () => {
    let store: CacheStore;
    const svc = () => `c-${randomUUID().slice(0, 8)}`;
    beforeAll(async () => {
      store = await makeStore();
    });
    /** Two variants of URL "p" under Vary: User-Agent: "m" (mobile) and "d" (desktop). */
    const putDeviceVariants = async (s: string) => {
      for (const [key, body] of [
        ['m', 'mobile'],
        ['d', 'desktop'],
      ] as const) {
        await store.put(
          singleObject({ service: s, primaryKey: 'p', entryKey: key, entry: entry(body, ['user-agent']), ...LIMITS }),
          NOW,
        );
      }
    };
    afterAll(async () => {
      await store.close();
      await teardown?.();
    });

    it('a key never written reads as nothing', async () => {
      expect(await store.get(svc(), 'nope', NOW)).toBeUndefined();
      expect(await store.getVary(svc(), 'nope', NOW)).toBeUndefined();
    });

    it('returns what was put, body bytes included', async () => {
      const s = svc();
      await store.put(
        singleObject({ service: s, primaryKey: 'p', entryKey: 'e', entry: entry('hello'), ...LIMITS }),
        NOW,
      );
      const got = await store.get(s, 'e', NOW);
      expect(got?.kind).toBe('entry');
      expect(got?.kind === 'entry' && got.body.toString()).toBe('hello');
      expect(got?.kind === 'entry' && got.meta.headers).toEqual([['content-type', 'text/plain']]);
      expect(await store.getVary(s, 'p', NOW)).toEqual([]);
    });

    it('find reads the record, or else the URL’s Vary names', async () => {
      const s = svc();
      expect(await store.find(s, 'nope', 'nope', NOW)).toMatchObject({ record: undefined, vary: undefined });
      await putDeviceVariants(s);
      const mobile = await store.find(s, 'm', 'p', NOW);
      expect(mobile.record?.kind === 'entry' && mobile.record.body.toString()).toBe('mobile');
      // Another variant of a URL whose responses vary: the names say which headers pick it.
      expect(await store.find(s, 'tablet', 'p', NOW)).toMatchObject({ record: undefined, vary: ['user-agent'] });
      // Past the entry's delete time it is gone, and the names are still read.
      const late = await store.find(s, 'm', 'p', NOW + 60_000);
      expect(late.record).toBeUndefined();
      const plain = svc();
      await store.put(
        singleObject({ service: plain, primaryKey: 'p', entryKey: 'e', entry: entry('x'), ...LIMITS }),
        NOW,
      );
      expect(await store.find(plain, 'other', 'p', NOW)).toMatchObject({ record: undefined, vary: [] });
    });

    it('reads issued together get one answer, and a read after a write sees the write', async () => {
      const s = svc();
      const put = (body: string) =>
        store.put(singleObject({ service: s, primaryKey: 'p', entryKey: 'e', entry: entry(body), ...LIMITS }), NOW);
      await put('first');
      const bodyOf = (found: Awaited<ReturnType<CacheStore['find']>>) =>
        found.record?.kind === 'entry' ? found.record.body.toString() : undefined;
      // A burst: many finds of one key at once, all answered alike.
      const burst = await Promise.all(Array.from({ length: 20 }, () => store.find(s, 'e', 'p', NOW)));
      expect(new Set(burst.map(bodyOf))).toEqual(new Set(['first']));
      // A find still in flight when a write completes is not joined by a find issued after it.
      const before = store.find(s, 'e', 'p', NOW);
      await put('second');
      const after = await store.find(s, 'e', 'p', NOW);
      expect(['first', 'second']).toContain(bodyOf(await before));
      expect(bodyOf(after)).toBe('second');
      await store.invalidate(s, 'p');
      expect((await store.find(s, 'e', 'p', NOW)).record).toBeUndefined();
    });

    it('an entry is gone at its delete time', async () => {
      const s = svc();
      await store.put(
        singleObject({ service: s, primaryKey: 'p', entryKey: 'e', entry: entry('x', [], NOW + 5_000), ...LIMITS }),
        NOW,
      );
      expect(await store.get(s, 'e', NOW + 4_999)).toBeDefined();
      expect(await store.get(s, 'e', NOW + 5_000)).toBeUndefined();
    });

    it('an entry already past its delete time is not stored', async () => {
      const s = svc();
      await store.put(
        singleObject({ service: s, primaryKey: 'p', entryKey: 'e', entry: entry('x', [], NOW - 1), ...LIMITS }),
        NOW,
      );
      expect(await store.get(s, 'e', NOW - 10)).toBeUndefined();
    });

    it('variants of one URL coexist under the same Vary names', async () => {
      const s = svc();
      await putDeviceVariants(s);
      expect(await store.getVary(s, 'p', NOW)).toEqual(['user-agent']);
      const m = await store.get(s, 'm', NOW);
      const d = await store.get(s, 'd', NOW);
      expect(m?.kind === 'entry' && m.body.toString()).toBe('mobile');
      expect(d?.kind === 'entry' && d.body.toString()).toBe('desktop');
    });

    it('a change of the Vary names removes the variants stored under the old ones', async () => {
      const s = svc();
      await putDeviceVariants(s);
      await store.put(
        singleObject({
          service: s,
          primaryKey: 'p',
          entryKey: 'l',
          entry: entry('fr', ['accept-language']),
          ...LIMITS,
        }),
        NOW,
      );
      expect(await store.getVary(s, 'p', NOW)).toEqual(['accept-language']);
      expect(await store.get(s, 'm', NOW)).toBeUndefined();
      expect(await store.get(s, 'd', NOW)).toBeUndefined();
      expect(await store.get(s, 'l', NOW)).toBeDefined();
    });

    it('a hit-for-miss marker is written where nothing is stored, and never replaces an entry', async () => {
      const s = svc();
      const marker = { kind: 'uncacheable', until: NOW + 10_000, reason: 'private' } as const;
      expect(await store.markUncacheable(s, 'u', marker, NOW)).toBe(true);
      expect(await store.get(s, 'u', NOW)).toEqual(marker);
      expect(await store.get(s, 'u', NOW + 10_000)).toBeUndefined();
      await store.put(
        singleObject({ service: s, primaryKey: 'p', entryKey: 'e', entry: entry('keep'), ...LIMITS }),
        NOW,
      );
      expect(await store.markUncacheable(s, 'e', marker, NOW)).toBe(false);
      const kept = await store.get(s, 'e', NOW);
      expect(kept?.kind).toBe('entry');
    });

    it('a stored entry replaces a marker', async () => {
      const s = svc();
      await store.markUncacheable(s, 'e', { kind: 'uncacheable', until: NOW + 10_000, reason: 'private' }, NOW);
      await store.put(
        singleObject({ service: s, primaryKey: 'p', entryKey: 'e', entry: entry('now cacheable'), ...LIMITS }),
        NOW,
      );
      expect((await store.get(s, 'e', NOW))?.kind).toBe('entry');
    });

    it('invalidating a URL removes all its variants and its Vary record, and nothing else', async () => {
      const s = svc();
      await putDeviceVariants(s);
      await store.put(
        singleObject({ service: s, primaryKey: 'q', entryKey: 'q', entry: entry('other url'), ...LIMITS }),
        NOW,
      );
      expect((await store.variantsOf(s, 'p')).sort()).toEqual(['d', 'm']);
      expect((await store.invalidate(s, 'p')).objects.sort()).toEqual(['d', 'm']);
      expect(await store.get(s, 'm', NOW)).toBeUndefined();
      expect(await store.get(s, 'd', NOW)).toBeUndefined();
      expect(await store.getVary(s, 'p', NOW)).toBeUndefined();
      expect(await store.get(s, 'q', NOW)).toBeDefined();
      expect((await store.invalidate(s, 'never-stored')).objects).toEqual([]);
    });

    it('a purge wins over a fill that began before it: the fill stores nothing', async () => {
      const s = svc();
      const fill = (primaryKey: string, body: string) =>
        singleObject({ service: s, primaryKey, entryKey: primaryKey, entry: entry(body), ...LIMITS });
      const lookup = async (primaryKey: string) => (await store.find(s, primaryKey, primaryKey, NOW)).guard;
      // A fill looks up (reading the purge counters), the URL is purged, then the fill stores.
      const before = await lookup('u');
      expect(before).toBeDefined();
      await store.invalidate(s, 'u');
      expect(await store.put({ ...fill('u', 'old'), guard: before }, NOW)).toBe('overtaken');
      expect(await store.get(s, 'u', NOW)).toBeUndefined();
      // A fill that looked up after the purge stores.
      expect(await store.put({ ...fill('u', 'new'), guard: await lookup('u') }, NOW)).toBe('stored');
      expect((await store.find(s, 'u', 'u', NOW)).record).toBeDefined();
      // A purge of another URL leaves a fill alone; a purge of the whole service does not.
      const other = await lookup('v');
      await store.invalidate(s, 'w');
      expect(await store.put({ ...fill('v', 'v1'), guard: other }, NOW)).toBe('stored');
      const broad = await lookup('x');
      await store.markPurge(s, { kind: 'filter', filter: { tag: 'sale' } }, false, NOW);
      expect(await store.put({ ...fill('x', 'x1'), guard: broad }, NOW)).toBe('overtaken');
      // A soft purge counts too: what the fill fetched may predate it.
      const soft = await lookup('y');
      await store.markPurge(s, { kind: 'url', primaryKey: 'y' }, true, NOW);
      expect(await store.put({ ...fill('y', 'y1'), guard: soft }, NOW)).toBe('overtaken');
    });

    /** One object: identity and br bytes, and a gzip key pointing at the identity bytes. */
    const putObject = (s: string, object = 'o', maxObjects = LIMITS.maxObjects) =>
      store.put(
        {
          service: s,
          primaryKey: `p-${object}`,
          object,
          varyNames: ['accept-encoding'],
          representations: [
            { key: `${object}-id`, entry: entry('plain text', ['accept-encoding']) },
            { key: `${object}-br`, entry: entry('brotli bytes', ['accept-encoding']) },
            { key: `${object}-gz`, aliasOf: `${object}-id` },
          ],
          ...LIMITS,
          maxObjects,
        },
        NOW,
      );

    it("an object's keys all answer, an alias with the bytes it points at", async () => {
      const s = svc();
      await putObject(s);
      const body = async (key: string) => {
        const got = await store.get(s, key, NOW);
        return got?.kind === 'entry' ? got.body.toString() : undefined;
      };
      expect(await body('o-id')).toBe('plain text');
      expect(await body('o-br')).toBe('brotli bytes');
      expect(await body('o-gz')).toBe('plain text');
      const got = await store.get(s, 'o-br', NOW);
      expect(got?.kind === 'entry' && got.meta.object).toBe('o');
      const object = await store.getObject(s, 'o', NOW);
      expect(object?.varyNames).toEqual(['accept-encoding']);
      expect(object?.representations.map((r) => ('aliasOf' in r ? `${r.key}->${r.aliasOf}` : r.key)).sort()).toEqual([
        'o-br',
        'o-gz->o-id',
        'o-id',
      ]);
    });

    it('an object counts once against the cap, and leaves whole', async () => {
      const s = svc();
      await putObject(s, 'a', 2);
      await putObject(s, 'b', 2);
      expect((await store.readStats(s)).entries).toBe(2);
      await putObject(s, 'c', 2);
      expect((await store.readStats(s)).entries).toBe(2);
      const left = ['a', 'b', 'c'].filter((o) => o !== 'c');
      const gone = [] as string[];
      for (const o of left) if ((await store.get(s, `${o}-id`, NOW)) === undefined) gone.push(o);
      expect(gone).toHaveLength(1);
      for (const suffix of ['id', 'br', 'gz']) expect(await store.get(s, `${gone[0]}-${suffix}`, NOW)).toBeUndefined();
    });

    it('purging or invalidating an object removes every key of it', async () => {
      const s = svc();
      await putObject(s, 'x');
      await putObject(s, 'y');
      expect(await store.purgeEntries(s, ['x'], false, NOW)).toEqual(['x']);
      for (const suffix of ['id', 'br', 'gz']) expect(await store.get(s, `x-${suffix}`, NOW)).toBeUndefined();
      expect((await store.invalidate(s, 'p-y')).objects).toEqual(['y']);
      for (const suffix of ['id', 'br', 'gz']) expect(await store.get(s, `y-${suffix}`, NOW)).toBeUndefined();
      expect(await store.getObject(s, 'y', NOW)).toBeUndefined();
    });

    it('a soft purge makes every representation stale at once', async () => {
      const s = svc();
      await putObject(s, 'z');
      expect(await store.purgeEntries(s, ['z'], true, NOW + 10)).toEqual(['z']);
      for (const suffix of ['id', 'br', 'gz']) {
        const got = await store.get(s, `z-${suffix}`, NOW + 10);
        expect(got?.kind === 'entry' && got.meta.staleAt).toBe(NOW + 10);
      }
    });

    /** A body of `count` chunks of 4 bytes written under a fresh id, then its object stored. */
    const putChunked = async (s: string, primaryKey: string, entryKey: string, count: number, maxObjects = 50_000) => {
      const id = randomUUID().slice(0, 12);
      const chunks = Array.from({ length: count }, (_, i) => Buffer.from(`${entryKey.slice(0, 2)}${i}`.padEnd(4, '.')));
      for (const [i, bytes] of chunks.entries()) await store.putChunk(s, primaryKey, id, i, bytes, 60_000);
      const manifest = entry('');
      manifest.meta.chunks = { id, size: 4, count, bytes: 4 * count };
      await store.put(singleObject({ service: s, primaryKey, entryKey, entry: manifest, ...LIMITS, maxObjects }), NOW);
      return { id, chunks };
    };
    const chunksLeft = async (s: string, primaryKey: string, id: string, count: number) => {
      let left = 0;
      for (let i = 0; i < count; i++) if (await store.getChunk(s, primaryKey, id, i)) left++;
      return left;
    };

    it('a chunked object: the record names its chunks, each read on its own, counted once with all its bytes', async () => {
      const s = svc();
      const { id, chunks } = await putChunked(s, 'p', 'big', 3);
      const got = await store.get(s, 'big', NOW);
      expect(got?.kind === 'entry' && got.meta.chunks).toEqual({ id, size: 4, count: 3, bytes: 12 });
      expect(got?.kind === 'entry' && got.body.length).toBe(0);
      for (const [i, bytes] of chunks.entries())
        expect((await store.getChunk(s, 'p', id, i))?.equals(bytes)).toBe(true);
      expect(await store.getChunk(s, 'p', id, 3)).toBeUndefined();
      await store.drain(s);
      expect(await store.readStats(s)).toMatchObject({ entries: 1, bytesStored: 12 });
    });

    it('a chunked object’s chunks leave with it: purged, invalidated, replaced, evicted, dropped', async () => {
      const s = svc();
      const purged = await putChunked(s, 'p1', 'o1', 2);
      await store.drain(s);
      expect(await store.purgeEntries(s, ['o1'], false, NOW)).toEqual(['o1']);
      expect(await chunksLeft(s, 'p1', purged.id, 2)).toBe(0);

      const invalidated = await putChunked(s, 'p2', 'p2', 2);
      await store.invalidate(s, 'p2');
      expect(await chunksLeft(s, 'p2', invalidated.id, 2)).toBe(0);

      const first = await putChunked(s, 'p3', 'o3', 2);
      const second = await putChunked(s, 'p3', 'o3', 3);
      await store.drain(s);
      expect(await chunksLeft(s, 'p3', first.id, 2)).toBe(0);
      expect(await chunksLeft(s, 'p3', second.id, 3)).toBe(3);
      expect(await store.readStats(s)).toMatchObject({ entries: 1, bytesStored: 12 });

      // Past a cap of one object, the older one goes with its chunks.
      const capped = svc();
      const old = await putChunked(capped, 'q1', 'c1', 2, 1);
      await store.drain(capped);
      await putChunked(capped, 'q2', 'c2', 2, 1);
      await store.drain(capped);
      expect(await chunksLeft(capped, 'q1', old.id, 2)).toBe(0);

      // Chunks of a fill that will not be stored.
      const orphan = randomUUID().slice(0, 12);
      await store.putChunk(s, 'p4', orphan, 0, Buffer.from('lost'), 60_000);
      await store.dropChunks(s, 'p4', orphan, 1);
      expect(await store.getChunk(s, 'p4', orphan, 0)).toBeUndefined();
    });

    it('services never see each other’s entries', async () => {
      const a = svc();
      const b = svc();
      await store.put(
        singleObject({ service: a, primaryKey: 'p', entryKey: 'same', entry: entry('A'), ...LIMITS }),
        NOW,
      );
      expect(await store.get(b, 'same', NOW)).toBeUndefined();
      expect(await store.getVary(b, 'p', NOW)).toBeUndefined();
    });
  });
}
