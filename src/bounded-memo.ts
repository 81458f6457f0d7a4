/**
 * @module A memo bounded in bytes, not in entries: what a process keeps to avoid recomputing
 * (resolved URLs, Vary names, device buckets…) may never grow past its budget, however long or
 * hostile the keys and values. Sizes are estimated the way V8 keeps them — strings at two bytes a
 * character, plus a fixed cost per entry — and the memo simply starts over when a new entry would
 * not fit: for hot keys that costs one recomputation, and it never holds more than `maxBytes`.
 */

/** V8 strings as UTF-16, plus the Map slot and object headers around an entry. */
export const ENTRY_OVERHEAD = 96;

export function stringBytes(value: string): number {
  return 2 * value.length;
}

export class BoundedMemo<V> {
  private map = new Map<string, V>();
  private used = 0;

  constructor(
    readonly maxBytes: number,
    /** The bytes one value keeps alive (its key is counted separately). */
    private readonly sizeOf: (value: V) => number,
  ) {}

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  set(key: string, value: V): void {
    const bytes = stringBytes(key) + this.sizeOf(value) + ENTRY_OVERHEAD;
    if (bytes > this.maxBytes) return; // one entry larger than the whole budget is not kept
    const previous = this.map.get(key);
    if (previous !== undefined) {
      this.used -= stringBytes(key) + this.sizeOf(previous) + ENTRY_OVERHEAD;
      this.map.delete(key);
    }
    if (this.used + bytes > this.maxBytes) this.clear();
    this.map.set(key, value);
    this.used += bytes;
  }

  delete(key: string): void {
    const previous = this.map.get(key);
    if (previous === undefined) return;
    this.used -= stringBytes(key) + this.sizeOf(previous) + ENTRY_OVERHEAD;
    this.map.delete(key);
  }

  clear(): void {
    this.map = new Map();
    this.used = 0;
  }

  /** Bytes held by the entries, as estimated. */
  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.map.size;
  }

  /** The bytes counted, and the same recomputed from every entry held (for tests and diagnostics). */
  audit(): { counted: number; recomputed: number } {
    let recomputed = 0;
    for (const [key, value] of this.map) recomputed += stringBytes(key) + this.sizeOf(value) + ENTRY_OVERHEAD;
    return { counted: this.used, recomputed };
  }
}
