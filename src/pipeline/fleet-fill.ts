/**
 * @module One origin fetch per cold object across the fleet. A node's first request for a cold
 * variant claims the variant's fill in Redis (a short lease). The node that wins fetches it as any
 * fill does, its own requests sharing it; every other node waits for the outcome the holder
 * announces when its fill ends: stored — its waiters read the object from the store (a collapsed
 * miss); not stored or failed — they fetch on their own at once, so nobody queues behind a
 * `no-store` answer. The holder renews its short lease while its fill runs; a holder that dies
 * stops renewing it, and within a lease the waiters see it gone and fetch for themselves.
 */
import type { FillCoordination, FillOutcome } from '../store/types.js';
import { type Attachment, Fill, type FillDeps, type FillOptions, type Waiter } from './fill.js';
import type { RequestView } from './recv.js';

/** A fill's lease: short, renewed by its holder every LEASE_RENEW_MS while the fill runs. */
export const FILL_LEASE_MS = 3000;
const LEASE_RENEW_MS = 1000;

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
    void this.fleet.claimFill(this.view.service.id, this.coalesced.entryHash, FILL_LEASE_MS).then(
      (claimed) => (claimed ? this.fetch() : this.waitElsewhere()),
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
    const { entryHash } = this.coalesced;
    const service = this.view.service.id;
    this.every(() => void this.fleet.renewFill(service, entryHash, FILL_LEASE_MS));
    const fill = new Fill(this.view, this.guessedNames, this.deps, this.options, {
      id: this.coalesced.id,
      onClosed: (outcome) => {
        this.close();
        void this.fleet.fillDone(service, entryHash, outcome);
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

  /**
   * Another node holds the fill: wait for its outcome, checking that its lease still stands — a
   * holder that died stops renewing it, and its waiters then fetch for themselves.
   */
  private waitElsewhere(): void {
    this.waitingElsewhere = true;
    this.every(async () => {
      const held = await this.fleet.fillHeld(this.view.service.id, this.coalesced.entryHash);
      if (!held) this.settle({ kind: 'released' });
    });
  }

  /** Runs `task` every LEASE_RENEW_MS until the fill closes. */
  private every(task: () => void | Promise<void>): void {
    this.timer = setInterval(() => void task(), LEASE_RENEW_MS);
    this.timer.unref();
  }

  private settle(attachment: Attachment): void {
    if (!this.waitingElsewhere) return;
    this.waitingElsewhere = false;
    this.close();
    const pending = this.pending;
    this.pending = [];
    for (const { resolve } of pending) resolve(attachment);
  }

  private close(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.closed) return;
    this.closed = true;
    this.coalesced.onClosed();
  }
}
