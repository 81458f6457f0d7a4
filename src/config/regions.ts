/**
 * @module The configuration of regions (docs/regions.md): this deployment's region and its peers,
 * and the settings of `cachefront sync`. The edges journal when `region` is set; the sync worker
 * needs its peers.
 */
import { z } from 'zod';
import { durationMs, listen } from './units.js';

/** A region's id: it names journal positions (`<region>/<space>`), so no `/`, `,` or `=`. */
const regionId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, {
  error: 'a region id is lower-case letters, digits and dashes (at most 32)',
});

/**
 * This deployment's region, when customer sites are fronted in several: its fills and purges are
 * then journaled in Redis for the other regions' sync workers. `redis` is the schema of a Redis
 * target, as the top-level `redis` is written.
 */
export function regionSchema<R extends z.ZodType>(redis: R) {
  return z
    .strictObject({
      id: regionId,
      /**
       * The other regions: their ids and their Redis (as `redis` here; their `serviceShards` must
       * be set as they run it). `cachefront sync` reads their journals; the admin API names them in
       * purge receipts.
       */
      peers: z.array(z.strictObject({ id: regionId, redis })).default([]),
    })
    .optional();
}

/** `cachefront sync`: the worker keeping this region in step with its peers. */
export const syncSchema = z
  .strictObject({
    /** Its Prometheus metrics (replication lag, purges applied, entries shipped…). */
    metrics: z.strictObject({ listen: listen('127.0.0.1', 9465) }).prefault({}),
    /** How often each peer journal is read when the last read found nothing. */
    pollMs: durationMs.default(100).refine((ms) => ms >= 1, { error: 'at least 1 ms' }),
    /** Journal records read per call. */
    batch: z.number().int().min(1).max(10_000).default(200),
    /** How often this region's own journals are trimmed past what every peer has read. */
    trimEveryMs: durationMs.default(10_000),
    /**
     * Pre-warming: objects another region fetched are copied here from that region's store
     * (never from the origin), unless a purge they did not know of is marked here.
     */
    prewarm: z
      .strictObject({
        enabled: z.boolean().default(true),
        /** Services whose fills are copied (empty: every service). */
        services: z.array(z.string()).default([]),
        /** "hot": only objects with `minHits` hits in their region `waitMs` after the fill; "all": every fill. */
        objects: z.enum(['hot', 'all']).default('hot'),
        minHits: z.number().int().min(0).default(2),
        waitMs: durationMs.default(10_000),
        /** Copies in flight at once, and started per second at most. */
        concurrency: z.number().int().min(1).max(256).default(8),
        perSecond: z.number().min(0.1).max(100_000).default(200),
        /** Fills older than this (by their journal time) are not copied. */
        maxAgeMs: durationMs.default(3_600_000),
        /** Fills waiting for their turn, at most; past it, fills are not copied (counted). */
        maxQueued: z.number().int().min(1).default(10_000),
      })
      .prefault({}),
  })
  .prefault({});
