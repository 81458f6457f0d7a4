/**
 * @module Requests for one key that arrive together — a burst for a new page, a hot object past the
 * L1 — share one Redis read (and one decoding of it). Only reads issued in the same turn of the
 * event loop are shared (the map is emptied before the next), so a request never gets an answer to
 * a read sent before it arrived; and once one of this store's writes has reached Redis, no later
 * read joins one shared before it (that read may have been answered before the write).
 */
import { timed } from './redis-timing.js';

export class SharedReads {
  private readonly thisTurn = new Map<string, Promise<unknown>>();

  /** The read in flight for `key` this turn, or `read()` started and shared. */
  share<T>(key: string, read: () => Promise<T>): Promise<T> {
    const inFlight = this.thisTurn.get(key);
    if (inFlight) return inFlight as Promise<T>;
    const started = read();
    this.thisTurn.set(key, started);
    if (this.thisTurn.size === 1) setImmediate(() => this.thisTurn.clear());
    return started;
  }

  /** A timed write: once Redis has it, reads shared before are not joined any more. */
  async written<T>(name: string, write: Promise<T>): Promise<T> {
    try {
      return await timed(name, write);
    } finally {
      this.thisTurn.clear();
    }
  }
}
