/**
 * @module The decaying frequency behind LFU eviction. A hit at time t weighs 2^((t - epoch) / h):
 * weights double every half-life h, so a hit from one half-life ago counts half as much as one
 * now, and yesterday's hot object can leave. Scores are kept as log2 of the summed weights, which
 * stays small and orders entries exactly as the decayed counts would.
 */

/** Fixed origin of the time axis (2025-01-01); only differences between scores matter. */
const EPOCH = Date.UTC(2025, 0, 1);

/** The score of a single hit at `now`. */
export function hitScore(now: number, halfLifeMs: number): number {
  return (now - EPOCH) / halfLifeMs;
}
