/**
 * @module The holder's side of a fleet-wide fill's relay (pipeline/fleet-fill.ts): the parts of its
 * response go to Redis in order, and whatever arrives while one append is in flight goes together
 * in the next. The first append waits a turn of the event loop, so a small response — head, body
 * and end arriving together — costs one call, and a large one as many as Redis' pace needs rather
 * than one per chunk.
 */
import type { FlightPart } from '../store/types.js';

/** Body bytes queued before the reader waits for Redis (the relay goes at Redis' pace). */
const MAX_QUEUED_BYTES = 1024 * 1024;

export class FlightSender {
  private queue: FlightPart[] = [];
  private queuedBytes = 0;
  private pump: Promise<void> | undefined;
  private stopped = false;
  private appended = false;

  /** `append` sends parts in order; false: nobody waits for the head, so nothing more is sent. */
  constructor(private readonly append: (parts: readonly FlightPart[]) => Promise<boolean>) {}

  /** Parts still go somewhere: false once nobody waited for the head, or an append failed. */
  get open(): boolean {
    return !this.stopped;
  }

  push(part: FlightPart): void {
    if (this.stopped) return;
    this.queue.push(part);
    if (part.kind === 'chunk') this.queuedBytes += part.bytes.length;
    this.pump ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.send());
  }

  /** Resolves once the queue can take more. */
  async room(): Promise<void> {
    while (this.queuedBytes > MAX_QUEUED_BYTES && this.pump) await this.pump;
  }

  /** Resolves once everything pushed is sent (or the relay stopped). */
  async flushed(): Promise<void> {
    while (this.pump) await this.pump;
  }

  private async send(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      const parts = this.queue;
      this.queue = [];
      this.queuedBytes = 0;
      try {
        if (await this.append(parts)) this.appended = true;
        else this.stopped = true;
      } catch {
        this.stopped = true;
        // The waiting nodes hold part of the response: tell them it ends here, if Redis still listens.
        if (this.appended) await this.append([{ kind: 'aborted' }]).catch(() => undefined);
      }
    }
    this.queue = [];
    this.pump = undefined;
  }
}
