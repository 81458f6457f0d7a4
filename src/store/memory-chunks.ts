/**
 * @module The embedded store's chunks of large bodies (store/types.ts ChunkManifest), in process:
 * copies of what the writer gave (it reuses its buffer), counted in bytes so the store keeps them
 * inside its budget, and dropped with their object.
 */
export class MemoryChunks {
  private readonly chunks = new Map<string, Buffer>();
  private held = 0;

  /** Bytes held. */
  get bytes(): number {
    return this.held;
  }

  put(service: string, id: string, index: number, bytes: Buffer): void {
    const key = `${service}\n${id}:${index}`;
    const old = this.chunks.get(key);
    if (old) this.held -= old.length;
    const copy = Buffer.from(bytes);
    this.chunks.set(key, copy);
    this.held += copy.length;
  }

  get(service: string, id: string, index: number): Buffer | undefined {
    return this.chunks.get(`${service}\n${id}:${index}`);
  }

  drop(service: string, id: string, count: number): void {
    for (let index = 0; index < count; index++) {
      const key = `${service}\n${id}:${index}`;
      const bytes = this.chunks.get(key);
      if (!bytes) continue;
      this.chunks.delete(key);
      this.held -= bytes.length;
    }
  }

  /** The bytes held, recounted from every chunk (the store's audit). */
  recount(): number {
    let bytes = 0;
    for (const chunk of this.chunks.values()) bytes += chunk.length;
    return bytes;
  }

  clear(): void {
    this.chunks.clear();
    this.held = 0;
  }
}
