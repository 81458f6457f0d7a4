/**
 * @module Request coalescing in one process: concurrent misses for one variant share one fill. The
 * map cleans itself (a fill leaves it when it stops taking waiters), and keys that recently proved
 * uncacheable skip it altogether (hit-for-miss), so such requests are never serialised.
 */
import { BoundedMemo } from '../bounded-memo.js';
import { REQUEST_SPECIFIC } from '../policy/storable.js';
import { Fill, type FillDeps, type FillHead, type FillOptions, type Waiter } from './fill.js';
import type { RequestView } from './recv.js';

export interface CoalescerDeps extends Omit<FillDeps, 'onClosed' | 'onUncacheable'> {
  /** Hit-for-miss memory: how long a key that answered uncacheably skips coalescing. */
  uncacheableMemoryMs: (view: RequestView) => number;
  onUncacheable: (view: RequestView, head: FillHead) => void;
}

/** Keys recently found uncacheable: an id and a deadline each, within a fixed budget. */
const RECENT_BYTES = 1024 * 1024;

export class Coalescer {
  private readonly fills = new Map<string, Fill>();
  private readonly recentUncacheable = new BoundedMemo<number>(RECENT_BYTES, () => 8);

  constructor(private readonly deps: CoalescerDeps) {}

  /** Fills in flight (for tests and metrics). */
  get inFlight(): number {
    return this.fills.size;
  }

  /** The hit-for-miss memory's bytes, against its budget. */
  get recentBytes(): { bytes: number; max: number } {
    return { bytes: this.recentUncacheable.bytes, max: this.recentUncacheable.maxBytes };
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
    const id = `${waiter.view.service.id}\n${variantHash}`;
    const until = this.recentUncacheable.get(id);
    if (until !== undefined) {
      if (until > this.deps.now()) return this.alone(waiter, guessedNames, options);
      this.recentUncacheable.delete(id);
    }
    const existing = this.fills.get(id);
    if (existing && options.unansweredOnly && existing.answered) return this.alone(waiter, guessedNames, options);
    const running = existing?.attach(waiter);
    if (running) return running;
    const fill = this.createFill(waiter.view, guessedNames, id, options);
    this.fills.set(id, fill);
    const attached = fill.attach(waiter) as NonNullable<ReturnType<Fill['attach']>>;
    fill.start();
    return attached;
  }

  /**
   * A fetch for this request only: after a release, or for a key known to be uncacheable. With
   * `mayStore` false (a key known to be too large) the body is not even kept while it streams.
   */
  alone(waiter: Waiter, guessedNames: readonly string[], options: FillOptions = {}) {
    const fill = this.createFill(waiter.view, guessedNames, undefined, options);
    const attached = fill.attach(waiter) as NonNullable<ReturnType<Fill['attach']>>;
    fill.start();
    return attached;
  }

  private createFill(
    view: RequestView,
    guessedNames: readonly string[],
    id: string | undefined,
    options: FillOptions,
  ): Fill {
    const fill: Fill = new Fill(
      view,
      guessedNames,
      {
        ...this.deps,
        onClosed: () => {
          if (id !== undefined && this.fills.get(id) === fill) this.fills.delete(id);
        },
        onUncacheable: (head) => {
          // A refusal owed to this request (an error met while revalidating, a visitor's cookie)
          // says nothing about the URL's cacheability: keep coalescing.
          const transient = !head.decision.ok && REQUEST_SPECIFIC.has(head.decision.reason);
          if (id !== undefined && !transient) this.rememberUncacheable(id, view);
          this.deps.onUncacheable(view, head);
        },
      },
      options,
    );
    return fill;
  }

  private rememberUncacheable(id: string, view: RequestView): void {
    this.recentUncacheable.set(id, this.deps.now() + this.deps.uncacheableMemoryMs(view));
  }
}
