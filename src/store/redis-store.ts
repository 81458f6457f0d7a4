/**
 * @module The cache store over Redis. A hit is one GET of one packed record; writes that touch
 * several keys go through Lua so they are atomic (and cluster-safe, all keys in one hash tag).
 */
import type { Redis } from 'ioredis';
import { decodeRecord, encodeRecord } from './codec.js';
import { entryKey, indexKeys, rateLimitKey, servicePrefix, statsKey, variantsKey, varyKey } from './keys.js';
import { hitScore } from './lfu.js';
import { defineScripts, runScript } from './scripts.js';
import type { CachedRecord, CacheStore, EntryWrite, RateDecision, RateLimitStore, UncacheableMarker } from './types.js';

export class RedisStore implements CacheStore, RateLimitStore {
  constructor(
    readonly client: Redis,
    private readonly ownsClient = true,
  ) {
    defineScripts(client);
  }

  async get(service: string, entryHash: string, now: number): Promise<CachedRecord | undefined> {
    const packed = await this.client.getBuffer(entryKey(service, entryHash));
    if (packed === null) return undefined;
    const record = decodeRecord(packed);
    if (record === undefined) return undefined;
    // Redis expires keys lazily to the millisecond; a record past its own deadline is gone.
    const deadline = record.kind === 'entry' ? record.meta.deleteAt : record.until;
    return deadline > now ? record : undefined;
  }

  async getVary(service: string, primaryHash: string): Promise<string[] | undefined> {
    const names = await this.client.get(varyKey(service, primaryHash));
    if (names === null) return undefined;
    return names === '' ? [] : names.split(',');
  }

  async put(write: EntryWrite, now: number): Promise<void> {
    const ttl = write.entry.meta.deleteAt - now;
    if (ttl <= 0) return;
    const { service, primaryKey, entryKey: entryHash } = write;
    const idx = indexKeys(service);
    await runScript(
      this.client,
      'storeEntry',
      [
        entryKey(service, entryHash),
        varyKey(service, primaryKey),
        variantsKey(service, primaryKey),
        idx.freq,
        idx.expiry,
        idx.owner,
        statsKey(service),
      ],
      [
        encodeRecord(write.entry),
        ttl,
        write.entry.meta.varyNames.join(','),
        entryHash,
        primaryKey,
        servicePrefix(service),
        now,
        hitScore(now, write.lfuHalfLifeMs),
        write.maxObjects,
      ],
    );
  }

  async markUncacheable(service: string, entryHash: string, marker: UncacheableMarker, now: number): Promise<boolean> {
    const ttl = marker.until - now;
    if (ttl <= 0) return false;
    // One key, so a plain SET ... NX is atomic: a stored entry is never replaced by a marker.
    const written = await this.client.set(entryKey(service, entryHash), encodeRecord(marker), 'PX', ttl, 'NX');
    return written === 'OK';
  }

  async invalidate(service: string, primaryHash: string): Promise<string[]> {
    const idx = indexKeys(service);
    const removed = await runScript(
      this.client,
      'invalidateUrl',
      [varyKey(service, primaryHash), variantsKey(service, primaryHash), idx.freq, idx.expiry, idx.owner],
      [servicePrefix(service)],
    );
    return removed as string[];
  }

  async addStats(service: string, counters: ReadonlyMap<string, number>): Promise<void> {
    if (counters.size === 0) return;
    // One key: a pipeline of HINCRBY is enough (and is one round trip).
    const pipeline = this.client.pipeline();
    for (const [field, n] of counters) pipeline.hincrby(statsKey(service), field, n);
    await pipeline.exec();
  }

  async readStats(service: string): Promise<Record<string, number>> {
    const [fields, entries] = await Promise.all([
      this.client.hgetall(statsKey(service)),
      this.client.zcard(indexKeys(service).freq),
    ]);
    const stats: Record<string, number> = { entries };
    for (const [field, value] of Object.entries(fields)) stats[field] = Number(value);
    return stats;
  }

  variantsOf(service: string, primaryHash: string): Promise<string[]> {
    return this.client.smembers(variantsKey(service, primaryHash));
  }

  async touch(service: string, hits: ReadonlyMap<string, number>, now: number, lfuHalfLifeMs: number): Promise<void> {
    if (hits.size === 0) return;
    const args: (string | number)[] = [hitScore(now, lfuHalfLifeMs)];
    for (const [hash, count] of hits) args.push(hash, count);
    await runScript(this.client, 'touchEntries', [indexKeys(service).freq], args);
  }

  async hit(service: string, client: string, limit: number, windowMs: number, now: number): Promise<RateDecision> {
    const window = Math.floor(now / windowMs);
    const [allowed, retryAfterMs] = (await runScript(
      this.client,
      'rateLimit',
      [rateLimitKey(service, client, window), rateLimitKey(service, client, window - 1)],
      [limit, windowMs, now - window * windowMs],
    )) as [number, number];
    return { allowed: allowed === 1, retryAfterMs };
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.quit().catch(() => this.client.disconnect());
  }
}
