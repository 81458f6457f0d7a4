/**
 * @module Indexing what was stored: a store queues its object in its key space's pending list
 * (lua/storeKeys-9.lua) and lua/indexPending-2.lua indexes it, evicting past the caps. Stores
 * within DRAIN_DELAY_MS share one call; one drain per key space at a time in this process.
 */
import { metrics } from '../metrics/metrics.js';
import type { RedisClient } from '../redis/connect.js';
import type { KeySpace } from './keys.js';
import { timed } from './redis-timing.js';
import { runScript } from './scripts.js';

/** How long stores wait to be indexed together; bounds the cap's overshoot to one interval's stores. */
const DRAIN_DELAY_MS = 5;
/** Items one indexPending call takes: bounds how long it holds Redis (a few ms; bench/admin.ts). */
const DRAIN_BATCH = 64;

export class IndexDrain {
  private readonly draining = new Map<string, Promise<void>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /**
   * The latest time a caller passed in: drains drop objects past their delete time by it (the store
   * keeps the callers' clock, as every other method does, rather than reading its own).
   */
  clock: number | undefined;

  constructor(
    private readonly client: RedisClient,
    private readonly shards: number,
    private readonly spaceAt: (service: string, shard: number) => KeySpace,
  ) {}

  /** Drains a space's pending queue soon: stores within DRAIN_DELAY_MS share one script call. */
  schedule(service: string, shard: number): void {
    const id = `${service}\n${shard}`;
    if (this.timers.has(id)) return;
    const timer = setTimeout(() => {
      this.timers.delete(id);
      // Complete: items queued while another drain ran are indexed too, even if no store follows.
      // A failed drain leaves its items queued: the next store schedules another.
      this.drainShard(service, shard).catch(() => undefined);
    }, DRAIN_DELAY_MS);
    timer.unref();
    this.timers.set(id, timer);
  }

  /**
   * Every key space of a service. `complete` (what every read of the indexes asks for): a caller
   * arriving while a drain runs waits for it and then drains what is left, so all it stored before
   * is indexed; otherwise (a store bounding the queue) it only waits.
   */
  async drain(service: string, complete = true): Promise<void> {
    if (this.shards === 1) return this.drainShard(service, 0, complete);
    await Promise.all(Array.from({ length: this.shards }, (_, shard) => this.drainShard(service, shard, complete)));
  }

  async drainShard(service: string, shard: number, complete = true): Promise<void> {
    const id = `${service}\n${shard}`;
    for (;;) {
      const running = this.draining.get(id);
      if (!running) break;
      await running.catch(() => undefined);
      if (!complete) return;
    }
    // A complete drain indexes every store queued so far: a drain scheduled for them is not needed.
    const timer = complete ? this.timers.get(id) : undefined;
    if (timer) {
      clearTimeout(timer);
      this.timers.delete(id);
    }
    const space = this.spaceAt(service, shard);
    const run = (async () => {
      for (;;) {
        const [, , evicted, left] = (await timed(
          'index',
          runScript(
            this.client,
            'indexPending',
            [space.pending, space.stats],
            [space.prefix, this.clock ?? Date.now(), DRAIN_BATCH],
          ),
        )) as [number, number, number, number];
        if (evicted > 0) metrics.evictions.inc({ service }, evicted);
        if (left === 0) return;
      }
    })();
    this.draining.set(id, run);
    try {
      await run;
    } finally {
      this.draining.delete(id);
    }
  }
}
