/**
 * @module One origin fetch per cold object across the fleet. A node's first request for a cold
 * variant claims the variant's fill in Redis (a short lease). The node that wins fetches it as any
 * fill does, its own requests sharing it; every other node waits for the outcome the holder
 * announces when its fill ends: stored — its waiters read the object from the store (a collapsed
 * miss); not stored or failed — they fetch on their own at once, so nobody queues behind a
 * `no-store` answer. A holder that dies announces nothing: its lease expires, and the waiters then
 * fetch for themselves.
 */
import type { FillCoordination, FillOutcome } from '../store/types.js';
import { type Attachment, Fill, type FillDeps, type FillOptions, type Waiter } from './fill.js';
import type { RequestView } from './recv.js';

interface Pending {
  waiter: Waiter;
  resolve: (attachment: Attachment) => void;
}

export class FleetFill {
  /** This node's fetch, once it holds the claim. */
  private fill: Fill | undefined;
  /** Waiters attached before the claim was decided, or while another node's fill runs. */
  private pending: Pending[] = [];
  private waitingElsewhere = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly view: RequestView,
    private readonly guessedNames: readonly string[],
    private readonly deps: FillDeps,
    private readonly fleet: FillCoordination,
    private readonly options: FillOptions,
    private readonly coalesced: { id: string; entryHash: string; onClosed: () => void },
  ) {}

  /** Claims the fill; the first waiter should be attached before. */
  start(): this {
    const service = this.view.service;
    // As long as the origin may take: past it, the holder is taken for dead.
    const leaseMs = service.origin.connectTimeoutMs + service.origin.responseTimeoutMs;
    void this.fleet.claimFill(service.id, this.coalesced.entryHash, leaseMs).then(
      (claimed) => (claimed ? this.fetch() : this.waitElsewhere(leaseMs)),
      () => this.fetch(),
    );
    return this;
  }

  get answered(): boolean {
    return this.fill?.answered ?? false;
  }

  get waiting(): number {
    return this.pending.length + (this.fill?.waiting ?? 0);
  }

  attach(waiter: Waiter): Promise<Attachment> | undefined {
    if (this.closed) return undefined;
    if (this.fill) return this.fill.attach(waiter);
    return new Promise((resolve) => this.pending.push({ waiter, resolve }));
  }

  /** The holder (another node) announced how its fill ended. */
  heard(outcome: FillOutcome): void {
    if (!this.waitingElsewhere) return;
    let read: Promise<unknown> | undefined;
    const once = <T>(first: () => Promise<T>): Promise<T> => {
      read ??= first();
      return read as Promise<T>;
    };
    this.settle(outcome === 'stored' ? { kind: 'stored', once } : { kind: 'released' });
  }

  /** This node holds the claim: one fill, every waiter attached to it, its outcome announced. */
  private fetch(): void {
    const fill = new Fill(this.view, this.guessedNames, this.deps, this.options, {
      id: this.coalesced.id,
      onClosed: (outcome) => {
        this.close();
        void this.fleet.fillDone(this.view.service.id, this.coalesced.entryHash, outcome);
      },
    });
    this.fill = fill;
    const pending = this.pending;
    this.pending = [];
    for (const { waiter, resolve } of pending) {
      const attached = fill.attach(waiter);
      if (attached) void attached.then(resolve);
      else resolve({ kind: 'released' });
    }
    fill.start();
  }

  private waitElsewhere(leaseMs: number): void {
    this.waitingElsewhere = true;
    this.timer = setTimeout(() => this.settle({ kind: 'released' }), leaseMs);
    this.timer.unref();
  }

  private settle(attachment: Attachment): void {
    this.waitingElsewhere = false;
    if (this.timer) clearTimeout(this.timer);
    this.close();
    const pending = this.pending;
    this.pending = [];
    for (const { resolve } of pending) resolve(attachment);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.coalesced.onClosed();
  }
}
