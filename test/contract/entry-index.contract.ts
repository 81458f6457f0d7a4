/**
 * The listing and purging contract, run against every CacheStore: filters, cursor paging, the
 * summary of each item, hard and soft purges. The Redis store answers from its Lua indexes, the
 * embedded store in process; both must agree with what is written here.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EntryFilter, ListPage } from '../../src/store/entry-index.js';
import { singleObject } from '../../src/store/single-object.js';
import type { CacheStore } from '../../src/store/types.js';
import { makeEntry } from '../helpers/entries.js';

const LIMITS = { maxObjects: 50_000, lfuHalfLifeMs: 86_400_000 };
const NOW = 1_800_000_000_000;

interface Seed {
  path: string;
  type: string;
  size: number;
  status?: number;
  tags?: string[];
  /** Stored this long before NOW. */
  age?: number;
}

const SEEDS: Seed[] = [
  { path: '/img/a.png', type: 'image/png', size: 100, tags: ['hero', 'home'] },
  { path: '/img/b.jpg', type: 'image/jpeg', size: 2_000, tags: ['home'] },
  { path: '/img/sub/c.webp', type: 'image/webp', size: 5_000, age: 60_000 },
  { path: '/css/site.css', type: 'text/css; charset=utf-8', size: 300, tags: ['theme'] },
  { path: '/index.html?lang=en', type: 'text/html', size: 1_500, age: 120_000 },
  { path: '/gone', type: 'text/html', size: 50, status: 404 },
];

export function describeEntryIndex(name: string, makeStore: () => Promise<CacheStore>, teardown?: () => Promise<void>) {
  describe(`Entry listing and purging contract: ${name}`, () => {
    let store: CacheStore;
    beforeAll(async () => {
      store = await makeStore();
    });
    afterAll(async () => {
      await store.close();
      await teardown?.();
    });

    /** A fresh service holding SEEDS; entry hashes are "h-<path>". */
    async function seeded(): Promise<string> {
      const service = `l-${randomUUID().slice(0, 8)}`;
      for (const seed of SEEDS) {
        const storedAt = NOW - (seed.age ?? 0);
        const entry = makeEntry(Buffer.alloc(seed.size, 'x'), {
          now: storedAt,
          deleteAt: NOW + 3_600_000,
          headers: [['content-type', seed.type]],
          status: seed.status ?? 200,
          path: seed.path,
          tags: seed.tags ?? [],
          variant: [['accept-language', 'en']],
        });
        await store.put(
          singleObject({ service, primaryKey: `p-${seed.path}`, entryKey: `h-${seed.path}`, entry, ...LIMITS }),
          storedAt,
        );
      }
      return service;
    }

    async function listAll(service: string, filter: EntryFilter, limit = 100): Promise<string[]> {
      const paths: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page: ListPage = await store.listEntries(service, { filter, cursor, limit, mode: 'items' }, NOW);
        paths.push(...page.items.map((item) => item.path));
        cursor = page.cursor;
        expect(++pages).toBeLessThan(50);
      } while (cursor !== undefined);
      return paths.sort();
    }

    it.each<[string, EntryFilter, string[]]>([
      ['no filter', {}, SEEDS.map((s) => s.path)],
      ['an exact media type (parameters ignored)', { contentType: 'text/css' }, ['/css/site.css']],
      ['every image type', { contentType: 'image/*' }, ['/img/a.png', '/img/b.jpg', '/img/sub/c.webp']],
      ['a media type nothing has', { contentType: 'video/*' }, []],
      [
        'a size range, inclusive',
        { minSize: 300, maxSize: 2_000 },
        ['/css/site.css', '/img/b.jpg', '/index.html?lang=en'],
      ],
      ['a minimum size alone', { minSize: 2_001 }, ['/img/sub/c.webp']],
      ['a path prefix', { pathPrefix: '/img/' }, ['/img/a.png', '/img/b.jpg', '/img/sub/c.webp']],
      ['a glob (* crosses slashes)', { pathGlob: '/img/*.webp' }, ['/img/sub/c.webp']],
      ['a glob with ? and a query', { pathGlob: '/index.htm?*lang=*' }, ['/index.html?lang=en']],
      ['a glob with Lua and regex magic characters', { pathGlob: '/img/a.png%' }, []],
      ['a tag', { tag: 'home' }, ['/img/a.png', '/img/b.jpg']],
      ['a tag and a type', { tag: 'home', contentType: 'image/jpeg' }, ['/img/b.jpg']],
      ['a status', { status: 404 }, ['/gone']],
      ['stored before', { storedBefore: NOW - 60_000 }, ['/index.html?lang=en']],
      [
        'stored at or after',
        { storedAfter: NOW - 60_000 },
        SEEDS.filter((s) => (s.age ?? 0) <= 60_000).map((s) => s.path),
      ],
      ['a prefix and a size', { pathPrefix: '/img/', maxSize: 2_000 }, ['/img/a.png', '/img/b.jpg']],
    ])('filters by %s', async (_name, filter, expected) => {
      const service = await seeded();
      expect(await listAll(service, filter)).toEqual([...expected].sort());
      // Pages of one give the same entries, each once.
      expect(await listAll(service, filter, 1)).toEqual([...expected].sort());
    });

    it('each item says what is stored: URL, variant, sizes, type, status, times, hits', async () => {
      const service = await seeded();
      await store.touch(service, new Map([['h-/img/a.png', 3]]), NOW, LIMITS.lfuHalfLifeMs);
      const page = await store.listEntries(service, { filter: { tag: 'hero' }, limit: 10, mode: 'items' }, NOW);
      expect(page.items).toEqual([
        {
          hash: 'h-/img/a.png',
          url: 'GET http://x/img/a.png',
          path: '/img/a.png',
          variant: [['accept-language', 'en']],
          contentType: 'image/png',
          status: 200,
          size: 100,
          sizes: { identity: 100 },
          representations: [{ name: 'identity', size: 100 }],
          tags: ['hero', 'home'],
          storedAt: NOW,
          staleAt: NOW + 3_600_000,
          deleteAt: NOW + 3_600_000,
          hits: 3,
        },
      ]);
      expect(await listAll(service, { minHits: 1 })).toEqual(['/img/a.png']);
      expect((await listAll(service, { maxHits: 0 })).length).toBe(SEEDS.length - 1);
    });

    it('counts and hash pages agree with the listing', async () => {
      const service = await seeded();
      const counted = await store.listEntries(
        service,
        { filter: { contentType: 'image/*' }, limit: 100, mode: 'count' },
        NOW,
      );
      expect(counted.count).toBe(3);
      expect(counted.items).toEqual([]);
      const hashes = await store.listEntries(
        service,
        { filter: { contentType: 'image/*' }, limit: 100, mode: 'hashes' },
        NOW,
      );
      expect(hashes.hashes.sort()).toEqual(['h-/img/a.png', 'h-/img/b.jpg', 'h-/img/sub/c.webp']);
      // A page that ends exactly at the last match says there is nothing more.
      const exact = await store.listEntries(
        service,
        { filter: { contentType: 'image/*' }, limit: 3, mode: 'hashes' },
        NOW,
      );
      expect(exact.hashes.length).toBe(3);
      expect(exact.cursor).toBeUndefined();
      const short = await store.listEntries(
        service,
        { filter: { contentType: 'image/*' }, limit: 2, mode: 'hashes' },
        NOW,
      );
      expect(short.cursor).toBeDefined();
    });

    it('a hard purge removes entries from the store and the listing, and counts them', async () => {
      const service = await seeded();
      const purged = await store.purgeEntries(service, ['h-/img/a.png', 'h-/gone', 'h-/never-stored'], false, NOW);
      expect(purged.sort()).toEqual(['h-/gone', 'h-/img/a.png']);
      expect(await store.get(service, 'h-/img/a.png', NOW)).toBeUndefined();
      expect(await store.get(service, 'h-/img/b.jpg', NOW)).toBeDefined();
      expect(await listAll(service, {})).toEqual(
        SEEDS.map((s) => s.path)
          .filter((p) => p !== '/img/a.png' && p !== '/gone')
          .sort(),
      );
      expect(await listAll(service, { tag: 'hero' })).toEqual([]);
      const stats = await store.readStats(service);
      expect(stats.purges).toBe(2);
      expect(stats.entries).toBe(SEEDS.length - 2);
    });

    it('a soft purge keeps the entry, body and all, but stale from now', async () => {
      const service = await seeded();
      const purged = await store.purgeEntries(service, ['h-/css/site.css'], true, NOW);
      expect(purged).toEqual(['h-/css/site.css']);
      const got = await store.get(service, 'h-/css/site.css', NOW);
      expect(got?.kind).toBe('entry');
      if (got?.kind !== 'entry') return;
      expect(got.meta.staleAt).toBe(NOW);
      expect(got.meta.deleteAt).toBe(NOW + 3_600_000);
      expect(got.body.length).toBe(300);
      expect(got.meta.headers).toEqual([['content-type', 'text/css; charset=utf-8']]);
      const [item] = (await store.listEntries(service, { filter: { tag: 'theme' }, limit: 10, mode: 'items' }, NOW))
        .items;
      expect(item?.staleAt).toBe(NOW);
      expect((await store.readStats(service)).purges).toBe(1);
    });

    it('services never see each other’s entries', async () => {
      const one = await seeded();
      const two = await seeded();
      await store.purgeEntries(
        two,
        SEEDS.map((s) => `h-${s.path}`),
        false,
        NOW,
      );
      expect(await listAll(two, {})).toEqual([]);
      expect((await listAll(one, {})).length).toBe(SEEDS.length);
    });

    it('a cursor it did not hand out is refused with a stable code', async () => {
      const service = await seeded();
      await expect(
        store.listEntries(service, { filter: {}, cursor: 'not a cursor!', limit: 10, mode: 'items' }, NOW),
      ).rejects.toMatchObject({ code: 'CF_ERR_ADMIN_BAD_CURSOR' });
    });
  });
}
