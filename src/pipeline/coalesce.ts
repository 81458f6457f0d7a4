/**
 * @module Request coalescing: concurrent misses for one variant share one fill in a process, and,
 * with a store that coordinates the fleet, one origin fetch across every node (fleet-fill.ts). The
 * map cleans itself (a fill leaves it when it stops taking waiters), and keys that recently proved
 * uncacheable skip it altogether (hit-for-miss), so such requests are never serialised.
 */
import type { FillCoordination } from '../store/types.js';
import { Fill, type FillDeps, type FillOptions, type Waiter } from './fill.js';
import { FleetFill } from './fleet-fill.js';
import { HitForMiss } from './hit-for-miss.js';

export class Coalescer {
  private readonly fills = new Map<string, Fill | FleetFill>();

  constructor(
    private readonly deps: FillDeps,
    /** Fleet-wide fills: one origin fetch per cold object across every node. */
    private readonly fleet?: FillCoordination,
  ) {
    fleet?.onFillDone((service, entryHash, outcome) => {
      const fill = this.fills.get(`${service}\n${entryHash}`);
      if (fill instanceof FleetFill) fill.heard(outcome);
    });
  }

  /** Fills in flight (for tests and metrics). */
  get inFlight(): number {
    return this.fills.size;
  }

  /** Requests waiting on the shared fills in flight (for tests and metrics). */
  get waiting(): number {
    let n = 0;
    for (const fill of this.fills.values()) n += fill.waiting;
    return n;
  }

  /**
   * Joins the fill for a variant, starting one when none is running. `guessedNames` are the Vary
   * names the variant key was computed with.
   */
  join(waiter: Waiter, variantHash: string, guessedNames: readonly string[], options: FillOptions = {}) {
    const variant = HitForMiss.id(waiter.view, variantHash);
    if (this.deps.hitForMiss.skipsCoalescing(variant)) return this.alone(waiter, guessedNames, options);
    // Only requests that read the same purge counters share a fill: one that looked up after a
    // purge never gets the answer to a fetch sent before it (the same across the fleet).
    // (Counters never moved, as for most URLs, add nothing to the key.)
    const { guard } = options;
    const purged = guard !== undefined && (guard.url !== 0 || guard.space !== 0) ? `.${guard.url}.${guard.space}` : '';
    const fillHash = variantHash + purged;
    const id = variant + purged;
    const existing = this.fills.get(id);
    if (existing && options.unansweredOnly && existing.answered) return this.alone(waiter, guessedNames, options);
    const running = existing?.attach(waiter);
    if (running) return running;
    const onClosed = () => {
      if (this.fills.get(id) === fill) this.fills.delete(id);
    };
    // A plain cold miss is coordinated across the fleet; a revalidation (its node holds the stale
    // entry) and a key known too large to store are not.
    const fleetWide = this.fleet !== undefined && !options.stale && options.mayStore !== false;
    const fill: Fill | FleetFill = fleetWide
      ? new FleetFill(waiter.view, guessedNames, this.deps, this.fleet as FillCoordination, options, {
          id,
          variant,
          entryHash: fillHash,
          onClosed,
        })
      : new Fill(waiter.view, guessedNames, this.deps, options, { id, variant, onClosed });
    this.fills.set(id, fill);
    return this.started(fill, waiter);
  }

  /**
   * A fetch for this request only: after a release, or for a key known to be uncacheable. With
   * `mayStore` false (a key known to be too large) the body is not even kept while it streams.
   */
  alone(waiter: Waiter, guessedNames: readonly string[], options: FillOptions = {}) {
    return this.started(new Fill(waiter.view, guessedNames, this.deps, options, undefined), waiter);
  }

  private started(fill: Fill | FleetFill, waiter: Waiter) {
    const attached = fill.attach(waiter) as NonNullable<ReturnType<Fill['attach']>>;
    fill.start();
    return attached;
  }
}
