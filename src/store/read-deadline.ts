/**
 * @module How long the request path waits for a store read before it treats the lookup as failed
 * and goes to the origin. A fixed 50 ms failed ~10 % of lookups on a saturated 2-core machine: the
 * replies had arrived, but the timer's phase of the event loop runs before the socket's, so a busy
 * loop declared them late. Two changes make a timeout mean "the store is slow":
 *
 * - when the timer fires, one `setImmediate` is awaited first, so the event loop's poll phase (the
 *   socket reads) runs before the verdict and a reply already in the buffer still counts;
 * - the deadline itself follows the latency reads really have: twice the 99th percentile of the
 *   last 512 reads, between the configured floor and ceiling. Latencies under load are bimodal (most
 *   reads take a millisecond, those queued behind a slow script tens), so a mean-based estimator
 *   (TCP's, RFC 6298) stays at the floor and cuts the tail; the percentile covers it. A store that is
 *   merely busy gets more time; one that stops answering is given up on at the deadline its recent
 *   replies set, never past the ceiling.
 */

export class StoreTimeout extends Error {
  readonly code = 'CF_STORE_TIMEOUT';
  constructor(readonly afterMs: number) {
    super(`the store did not answer within ${afterMs} ms`);
  }
}

/** Deadlines are rounded to this step, so Node keeps few timer lists. */
const STEP_MS = 5;
/** Latencies remembered (the most recent reads), and how often the percentile is recomputed. */
const WINDOW = 512;
const RECOMPUTE_EVERY = 64;
/** The deadline is this many times the recent 99th percentile: reads past it are the far tail. */
const MARGIN = 2;

export class ReadDeadline {
  private readonly latencies = new Float64Array(WINDOW);
  private seen = 0;
  private deadline: number;

  constructor(
    private readonly floorMs: number,
    private readonly ceilingMs: number,
  ) {
    this.deadline = floorMs;
  }

  /** The deadline a read started now gets. */
  get currentMs(): number {
    return this.deadline;
  }

  /** A read's latency (also of a read that was given up on and answered later: it was slow, not lost). */
  observe(ms: number): void {
    this.latencies[this.seen % WINDOW] = ms;
    this.seen++;
    if (this.seen % RECOMPUTE_EVERY === 0) this.recompute();
  }

  private recompute(): void {
    const recent = this.latencies.slice(0, Math.min(this.seen, WINDOW)).sort();
    const p99 = recent[Math.floor(0.99 * (recent.length - 1))] ?? 0;
    const stepped = Math.ceil((MARGIN * p99) / STEP_MS) * STEP_MS;
    this.deadline = Math.min(this.ceilingMs, Math.max(this.floorMs, stepped));
  }

  /** The read's result, or a StoreTimeout once the deadline (and one more turn of the loop) passed. */
  run<T>(read: Promise<T>): Promise<T> {
    const started = performance.now();
    const deadline = this.currentMs;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        setImmediate(() => {
          if (settled) return;
          settled = true;
          reject(new StoreTimeout(deadline));
        });
      }, deadline);
      read.then(
        (value) => {
          this.observe(performance.now() - started);
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }
}
