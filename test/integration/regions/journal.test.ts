/**
 * A region's journal: every fill and every purge of a key space is appended by the same script
 * that makes the change, with the region, the key's generation and the time — on one Redis and on
 * a Redis Cluster with each service split into key spaces. A fill a purge overtook stores nothing
 * and journals nothing; a store without a region journals nothing at all.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect } from 'vitest';
import type { RedisClient } from '../../../src/redis/connect.js';
import { type JournalRecord, parseRecord } from '../../../src/regions/journal.js';
import { purgeUrl } from '../../../src/store/bulk-purge.js';
import { keySpace, shardOf, shardPrefix } from '../../../src/store/keys.js';
import { RedisStore } from '../../../src/store/redis-store.js';
import { singleObject } from '../../../src/store/single-object.js';
import { makeEntry } from '../../helpers/entries.js';
import { test } from '../../helpers/fixtures.js';
import { storeTargets, TARGETS } from '../../helpers/targets.js';

const storeAt = storeTargets();
const LIMITS = { maxObjects: 50_000, lfuHalfLifeMs: 86_400_000 };
const NOW = Date.now();

async function journal(client: RedisClient, service: string, shards: number): Promise<JournalRecord[]> {
  const records: JournalRecord[] = [];
  for (let shard = 0; shard < shards; shard++) {
    const entries = await client.xrange(keySpace(shardPrefix(service, shard, shards)).journal, '-', '+');
    records.push(...entries.map(([id, fields]) => parseRecord(id, fields)));
  }
  return records;
}

describe.each(TARGETS)('the journal on %s', (target) => {
  test('records fills and purges with region, generation and time, in the step that makes them', async ({ redis }) => {
    const where = await storeAt(target, redis);
    const client = await where.client();
    const store = new RedisStore(client, true, client, undefined, where.serviceShards, 'eu');
    const service = `j-${randomUUID().slice(0, 8)}`;
    const fill = (primaryKey: string, body: string) =>
      singleObject({
        service,
        primaryKey,
        entryKey: primaryKey,
        entry: makeEntry(body, { now: NOW, path: `/${primaryKey}` }),
        ...LIMITS,
      });
    const found = (primaryKey: string) => store.find(service, primaryKey, primaryKey, NOW);
    try {
      // A URL hash as the edge makes them (the first two characters pick the key space).
      const url = 'Ab12cd';
      expect(await store.put({ ...fill(url, 'v1'), guard: (await found(url)).guard }, NOW)).toBe('stored');
      const [stored] = await journal(client, service, where.serviceShards);
      expect(stored).toMatchObject({ kind: 'fill', region: 'eu', object: url, primary: url, generation: 0 });
      expect(Math.abs((stored?.kind === 'fill' ? stored.at : 0) - NOW)).toBeLessThan(1000);

      const before = (await found(url)).guard;
      const { purged, receipt } = await purgeUrl(store, service, url, undefined, false, NOW);
      expect(purged).toBe(1);
      expect(receipt).toMatch(new RegExp(`^${shardOf(url, where.serviceShards)}:\\d+-\\d+$`));
      // Overtaken by the purge: nothing stored, nothing journaled.
      expect(await store.put({ ...fill(url, 'old'), guard: before }, NOW)).toBe('overtaken');

      const soft = await store.markPurge(service, { kind: 'filter', filter: { tag: 'sale' } }, true, NOW);
      expect(soft.split(',')).toHaveLength(where.serviceShards);

      const records = await journal(client, service, where.serviceShards);
      expect(records.map((r) => r.kind).sort()).toEqual([
        'fill',
        ...Array.from({ length: where.serviceShards + 1 }, () => 'purge'),
      ]);
      const urlPurge = records.find((r) => r.kind === 'purge' && r.scope.kind === 'url');
      expect(urlPurge).toMatchObject({ region: 'eu', generation: 1, soft: false, scope: { primaryKey: url } });
      expect(`${shardOf(url, where.serviceShards)}:${urlPurge?.id}`).toBe(receipt);
      const filterPurges = records.filter((r) => r.kind === 'purge' && r.scope.kind === 'filter');
      expect(filterPurges.every((r) => r.kind === 'purge' && r.soft && r.region === 'eu')).toBe(true);
      // The purge's receipt: applied here (once its objects were removed), and when.
      const [space, id] = receipt.split(':') as [string, string];
      const applied = await client.hgetall(
        keySpace(shardPrefix(service, Number(space), where.serviceShards)).receipt(id),
      );
      expect(Object.keys(applied)).toEqual(['eu']);
    } finally {
      await store.close();
    }
  });

  test('a store without a region journals nothing', async ({ redis }) => {
    const where = await storeAt(target, redis);
    const client = await where.client();
    const store = new RedisStore(client, true, client, undefined, where.serviceShards);
    const service = `j-${randomUUID().slice(0, 8)}`;
    try {
      await store.put(
        singleObject({ service, primaryKey: 'Cd34', entryKey: 'Cd34', entry: makeEntry('x', { now: NOW }), ...LIMITS }),
        NOW,
      );
      expect((await store.invalidate(service, 'Cd34')).receipt).toBe('');
      expect(await journal(client, service, where.serviceShards)).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
