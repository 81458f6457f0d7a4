/**
 * @module A tee: one source stream read once and pushed to every subscriber, each at its own pace.
 * The source pauses while any subscriber is full and resumes when all have drained; when the last
 * subscriber leaves before the end, the source is destroyed (nobody is left to read it). While the
 * body is under `replayLimit` bytes it is kept, so a late subscriber gets it from the first byte.
 * It knows nothing of caching: the store is just another subscriber.
 */
import { Readable } from 'node:stream';

export class FanOut {
  private readonly subscribers = new Set<Readable>();
  private readonly blocked = new Set<Readable>();
  /** The body so far, while it is under the replay limit; undefined once it is not kept. */
  private kept: Buffer[] | undefined;
  private bytes = 0;
  private ended = false;
  private failed: Error | undefined;

  private constructor(
    private readonly source: Readable | undefined,
    private readonly replayLimit: number,
    private readonly onChunk: ((bytes: number) => void) | undefined,
  ) {
    this.kept = replayLimit > 0 ? [] : undefined;
  }

  /** A fan-out of a stream; `onChunk` sees each chunk's size as it arrives. */
  static of(source: Readable, replayLimit: number, onChunk?: (bytes: number) => void): FanOut {
    const fanOut = new FanOut(source, replayLimit, onChunk);
    fanOut.listen(source);
    return fanOut;
  }

  /** A fan-out of a body already whole (a stored body refreshed by a 304). */
  static whole(body: Buffer): FanOut {
    const fanOut = new FanOut(undefined, Number.POSITIVE_INFINITY, undefined);
    fanOut.kept = [body];
    fanOut.bytes = body.length;
    fanOut.ended = true;
    return fanOut;
  }

  /** The whole body can still be given to a new subscriber. */
  get replayable(): boolean {
    return this.failed === undefined && (this.kept !== undefined || (this.bytes === 0 && !this.ended));
  }

  /** A stream of the whole body; undefined when its start is no longer kept. */
  subscribe(): Readable | undefined {
    if (!this.replayable) return undefined;
    const stream: Readable = new Readable({
      read: () => this.unblock(stream),
      destroy: (error, callback) => {
        this.leave(stream);
        callback(error);
      },
    });
    this.subscribers.add(stream);
    let full = false;
    if (this.kept) for (const chunk of this.kept) full = !stream.push(chunk);
    if (this.ended) stream.push(null);
    else if (full) this.block(stream);
    return stream;
  }

  /** No one else will subscribe: if no one did, stop downloading the body. */
  closeIfUnread(): void {
    if (this.subscribers.size === 0 && !this.ended) this.source?.destroy();
  }

  private listen(source: Readable): void {
    // Flowing from the next microtask: the first subscribers attach in this one.
    queueMicrotask(() => {
      if (this.blocked.size === 0 && !source.destroyed) source.resume();
    });
    source.on('data', (chunk: Buffer) => {
      this.onChunk?.(chunk.length);
      this.bytes += chunk.length;
      if (this.kept) {
        if (this.bytes > this.replayLimit) this.kept = undefined;
        else this.kept.push(chunk);
      }
      for (const stream of this.subscribers) if (!stream.push(chunk)) this.block(stream);
    });
    const onEnd = () => {
      this.ended = true;
      for (const stream of this.subscribers) stream.push(null);
    };
    // An empty body may have ended already while its first chunk was being peeked at.
    if (source.readableEnded) onEnd();
    else source.on('end', onEnd);
    source.on('error', (error) => {
      this.failed = error;
      this.kept = undefined;
      for (const stream of [...this.subscribers]) stream.destroy(error);
    });
  }

  private block(stream: Readable): void {
    this.blocked.add(stream);
    this.source?.pause();
  }

  private unblock(stream: Readable): void {
    if (this.blocked.delete(stream) && this.blocked.size === 0) this.source?.resume();
  }

  private leave(stream: Readable): void {
    this.subscribers.delete(stream);
    this.unblock(stream);
    // Nobody left to read a body nobody can join any more: stop downloading it.
    if (this.subscribers.size === 0 && !this.ended && !this.kept) this.source?.destroy();
  }
}
