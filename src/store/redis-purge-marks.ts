/**
 * @module Purge marks over Redis (docs/regions.md): a purge is marked before its objects are
 * removed (lua/markPurge-4.lua: its counter goes up, and with regions it is journaled and marked),
 * and each region's receipt says when it was applied there.
 */
import type { RedisClient } from '../redis/connect.js';
import { type KeySpace, shardOf } from './keys.js';
import { runScript } from './scripts.js';
import type { SharedReads } from './shared-reads.js';
import type { JournalSource, PurgeScope } from './types.js';

/**
 * How long a URL's purge counter and marks live: longer than any fill runs (a fill overtaken by a
 * purge whose counter expired meanwhile still fails its check, the counter reading 0), and longer
 * than the oldest fill another region may still copy here (docs/regions.md).
 */
const URL_MARK_TTL_MS = 86_400_000;
/** How long a purge's receipt (per region, when it was applied) can be read. */
const RECEIPT_TTL_MS = 86_400_000;

export class RedisPurgeMarks {
  constructor(
    private readonly client: RedisClient,
    private readonly shards: number,
    /** This region ("" without regions: nothing journaled, no receipts). */
    private readonly region: string,
    private readonly spaceAt: (service: string, shard: number) => KeySpace,
    private readonly reads: SharedReads,
  ) {}

  /** Marks a purge in its key space(s) (CacheStore.markPurge); returns its receipt. */
  async mark(service: string, scope: PurgeScope, soft: boolean, now: number, from?: JournalSource): Promise<string> {
    // A URL's purge lives in the URL's key space; a broader one is marked in every space.
    const shards =
      scope.kind === 'url'
        ? [shardOf(scope.primaryKey, this.shards)]
        : Array.from({ length: this.shards }, (_, i) => i);
    const selector =
      scope.kind === 'url'
        ? JSON.stringify({ primary: scope.primaryKey, url: scope.url })
        : JSON.stringify(scope.kind === 'filter' ? { filter: scope.filter } : {});
    const receipts = await Promise.all(
      shards.map(async (shard) => {
        const space = this.spaceAt(service, shard);
        const [count, marks, ttl] =
          scope.kind === 'url'
            ? [space.gen(scope.primaryKey), space.purged(scope.primaryKey), URL_MARK_TTL_MS]
            : [space.epoch, space.purgedAll, 0];
        // A write: lookups shared before it may carry the counters it replaces.
        const id = (await this.reads.written(
          'mark_purge',
          runScript(
            this.client,
            'markPurge',
            [count, marks, space.journal, space.applied],
            [
              ttl,
              this.region,
              `${this.region}/${shard}`,
              from?.field ?? '',
              from?.id ?? '',
              scope.kind,
              soft ? '1' : '0',
              selector,
              Math.trunc(now),
            ],
          ),
        )) as string;
        return id === '' ? '' : `${shard}:${id}`;
      }),
    );
    return receipts.filter((receipt) => receipt !== '').join(',');
  }

  /** This region's receipt for a purge made here, once its objects are removed. */
  async applied(service: string, receipt: string, now: number): Promise<void> {
    if (this.region === '' || receipt === '') return;
    await Promise.all(
      receipt.split(',').map(async (part) => {
        const [shard, id] = part.split(':') as [string, string];
        const key = this.spaceAt(service, Number(shard)).receipt(id);
        await this.client
          .multi()
          .hset(key, this.region, String(Math.trunc(now)))
          .pexpire(key, RECEIPT_TTL_MS)
          .exec();
      }),
    );
  }

  /** Region → when it applied every part of the purge (CacheStore.receipt). */
  async receipt(service: string, receipt: string): Promise<Map<string, number>> {
    const parts = receipt.split(',').map((part) => /^(\d+):(\d+-\d+)$/.exec(part));
    if (parts.length === 0 || parts.some((part) => part === null || Number(part[1]) >= this.shards)) {
      return new Map();
    }
    const applied = await Promise.all(
      parts.map((part) => {
        const [, shard, id] = part as RegExpExecArray;
        return this.client.hgetall(this.spaceAt(service, Number(shard)).receipt(id as string));
      }),
    );
    // A region has applied the purge once it has applied every part; then, at the latest part's time.
    const regions = new Map<string, number>();
    for (const region of Object.keys(applied[0] ?? {})) {
      const times = applied.map((byRegion) => Number(byRegion[region]));
      if (times.every((time) => Number.isFinite(time))) regions.set(region, Math.max(...times));
    }
    return regions;
  }
}
