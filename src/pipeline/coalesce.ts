/**
 * @module Request coalescing in one process: concurrent misses for one variant share one fill. The
 * map cleans itself (a fill leaves it when it stops taking waiters), and keys that recently proved
 * uncacheable skip it altogether (hit-for-miss), so such requests are never serialised.
 */
import { Fill, type FillDeps, type FillOptions, type Waiter } from './fill.js';
import { HitForMiss } from './hit-for-miss.js';

export class Coalescer {
  private readonly fills = new Map<string, Fill>();

  constructor(private readonly deps: FillDeps) {}

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
    const id = HitForMiss.id(waiter.view, variantHash);
    if (this.deps.hitForMiss.skipsCoalescing(id)) return this.alone(waiter, guessedNames, options);
    const existing = this.fills.get(id);
    if (existing && options.unansweredOnly && existing.answered) return this.alone(waiter, guessedNames, options);
    const running = existing?.attach(waiter);
    if (running) return running;
    const fill: Fill = new Fill(waiter.view, guessedNames, this.deps, options, {
      id,
      onClosed: () => {
        if (this.fills.get(id) === fill) this.fills.delete(id);
      },
    });
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

  private started(fill: Fill, waiter: Waiter) {
    const attached = fill.attach(waiter) as NonNullable<ReturnType<Fill['attach']>>;
    fill.start();
    return attached;
  }
}
