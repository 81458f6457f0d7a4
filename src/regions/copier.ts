/**
 * @module The pace of pre-warming: copies of other regions' fills wait until they are due (a hot
 * object is judged some time after its fill), then run at most `concurrency` at a time and
 * `perSecond` a second. What does not fit in the queue is not copied — pre-warming is an
 * optimisation, and the region fetches such objects itself when asked.
 */
export interface CopierSettings {
  concurrency: number;
  perSecond: number;
  maxQueued: number;
}

export class Copier {
  private readonly ready: (() => Promise<void>)[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private running = 0;
  private queued = 0;
  private tokens: number;
  private refilledAt: number;
  private pumpTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private idlers: (() => void)[] = [];

  constructor(
    private readonly settings: CopierSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = Math.max(1, settings.perSecond);
    this.refilledAt = now();
  }

  /** Runs `task` no earlier than `at` (ms); false when the queue is full (the task is not run). */
  schedule(task: () => Promise<void>, at: number): boolean {
    if (this.stopped || this.queued >= this.settings.maxQueued) return false;
    this.queued++;
    const enqueue = () => {
      this.ready.push(task);
      this.pump();
    };
    const wait = at - this.now();
    if (wait <= 0) enqueue();
    else {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        enqueue();
      }, wait);
      timer.unref();
      this.timers.add(timer);
    }
    return true;
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    if (this.queued === 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.idlers.push(resolve));
  }

  /** Drops what has not started (it is read again from the journal after a restart). */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    this.ready.length = 0;
    for (const idle of this.idlers.splice(0)) idle();
  }

  private pump(): void {
    if (this.stopped) return;
    const now = this.now();
    const { perSecond, concurrency } = this.settings;
    this.tokens = Math.min(Math.max(1, perSecond), this.tokens + ((now - this.refilledAt) / 1000) * perSecond);
    this.refilledAt = now;
    while (this.ready.length > 0 && this.running < concurrency && this.tokens >= 1) {
      const task = this.ready.shift() as () => Promise<void>;
      this.tokens -= 1;
      this.running++;
      void task()
        .catch(() => undefined)
        .finally(() => {
          this.running--;
          this.queued--;
          if (this.queued === 0) for (const idle of this.idlers.splice(0)) idle();
          this.pump();
        });
    }
    if (this.ready.length > 0 && this.tokens < 1 && !this.pumpTimer) {
      // Out of tokens: come back when the next one is due.
      this.pumpTimer = setTimeout(
        () => {
          this.pumpTimer = undefined;
          this.pump();
        },
        Math.ceil(((1 - this.tokens) / perSecond) * 1000),
      );
      this.pumpTimer.unref();
    }
  }
}
