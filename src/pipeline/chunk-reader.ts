/**
 * @module A chunked body read from the store as the client takes it: only the chunks a response
 * covers (a range in the middle of a large object reads nothing else), one chunk ahead of the
 * client, never the whole object (docs/large-objects.md).
 */
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import type { CacheStore, ChunkManifest } from '../store/types.js';

/** A chunk the record names is gone (a purge or Redis' own eviction got there first). */
export class ChunkMissing extends Error {}

/** A stored body that is opened for the bytes a response needs. */
export interface ChunkedBody {
  readonly kind: 'chunks';
  /** The whole body's length. */
  readonly length: number;
  /** Bytes start..end (inclusive) as a stream. */
  open(start: number, end: number): Readable;
}

type ChunkStore = Pick<CacheStore, 'getChunk'>;

/** A chunk already read (the lookup checks the first one a response needs is there). */
export interface ReadChunk {
  index: number;
  bytes: Buffer;
}

export function chunkedBody(
  store: ChunkStore,
  service: string,
  primaryKey: string,
  manifest: ChunkManifest,
  options: { first?: ReadChunk | undefined; onMissing?: () => void } = {},
): ChunkedBody {
  return {
    kind: 'chunks',
    length: manifest.bytes,
    open: (start, end) => {
      const body = readChunks(store, service, primaryKey, manifest, start, end, options.first);
      if (options.onMissing) {
        const onMissing = options.onMissing;
        body.once('error', (error) => {
          if (error instanceof ChunkMissing) onMissing();
        });
      }
      return body;
    },
  };
}

/** The chunk a response's first byte is in: the range's start, or the body's. */
export function firstChunkIndex(manifest: ChunkManifest, rangeStart: number | undefined): number {
  return Math.floor((rangeStart ?? 0) / manifest.size);
}

/** Bytes start..end of a chunked body, chunk after chunk, the next one read while this one is sent. */
export function readChunks(
  store: ChunkStore,
  service: string,
  primaryKey: string,
  manifest: ChunkManifest,
  start: number,
  end: number,
  first?: ReadChunk,
): Readable {
  const { id, size } = manifest;
  const last = Math.floor(end / size);
  let next = Math.floor(start / size);
  // The chunk being read for the client, and the one after it.
  const ahead: Promise<Buffer | undefined>[] = [];
  const fetch = () => {
    while (ahead.length < 2 && next + ahead.length <= last) {
      const index = next + ahead.length;
      const read =
        first?.index === index
          ? Promise.resolve<Buffer | undefined>(first.bytes)
          : store.getChunk(service, primaryKey, id, index);
      // A read left behind when the client goes must not fail the process as unhandled.
      read.catch(() => undefined);
      ahead.push(read);
    }
  };
  let reading = false;
  return new Readable({
    // One chunk at a time: a chunk (1–2 MiB) is well past the mark, so `read` waits for the client.
    highWaterMark: 1,
    read() {
      if (reading) return;
      if (next > last) {
        this.push(null);
        return;
      }
      reading = true;
      fetch();
      const index = next;
      (ahead.shift() as Promise<Buffer | undefined>).then(
        (chunk) => {
          reading = false;
          if (this.destroyed) return;
          if (!chunk) return void this.destroy(new ChunkMissing(`chunk ${index} of ${id} is gone`));
          next++;
          fetch();
          const from = index * size;
          const sliceStart = Math.max(start - from, 0);
          const sliceEnd = Math.min(end + 1 - from, chunk.length);
          this.push(sliceStart === 0 && sliceEnd === chunk.length ? chunk : chunk.subarray(sliceStart, sliceEnd));
        },
        (error: Error) => {
          reading = false;
          this.destroy(error);
        },
      );
    },
  });
}

/**
 * A fill's chunks as they land (the store writer reports them): what a request that joins the
 * fill too late for its kept bytes follows instead of fetching the object again.
 */
export class ChunkProgress extends EventEmitter {
  /** Unset until the body is known to be chunked. */
  id: string | undefined;
  /** Bytes per chunk (the last may be shorter). */
  size = 0;
  /** Chunks written so far (0..written-1 can be read). */
  written = 0;
  /** Set once no chunk will follow: stored, or failed (its chunks are being dropped). */
  ended: 'stored' | 'failed' | undefined;

  constructor() {
    super();
    // One listener per request following the fill: as many as join it.
    this.setMaxListeners(0);
  }

  chunk(id: string, written: number, size: number): void {
    this.id = id;
    this.size = size;
    this.written = written;
    this.emit('change');
  }

  end(outcome: 'stored' | 'failed'): void {
    this.ended = outcome;
    this.emit('change');
  }
}

/**
 * The whole body of a fill being chunked, from its first byte: the chunks written so far, then
 * each as it lands (woken by the writer, never polling). It fails if the fill does.
 */
export function followChunks(
  store: ChunkStore,
  service: string,
  primaryKey: string,
  progress: ChunkProgress,
): Readable {
  let next = 0;
  let reading = false;
  return new Readable({
    highWaterMark: 1,
    read() {
      if (reading) return;
      const pump = () => {
        if (this.destroyed) return void progress.off('change', pump);
        if (next < progress.written && progress.id !== undefined) {
          progress.off('change', pump);
          reading = true;
          const index = next;
          store.getChunk(service, primaryKey, progress.id, index).then(
            (chunk) => {
              reading = false;
              if (this.destroyed) return;
              if (!chunk) return void this.destroy(new ChunkMissing(`chunk ${index} is gone`));
              next++;
              this.push(chunk);
            },
            (error: Error) => {
              reading = false;
              this.destroy(error);
            },
          );
          return;
        }
        if (progress.ended === 'stored') {
          progress.off('change', pump);
          this.push(null);
        } else if (progress.ended === 'failed') {
          progress.off('change', pump);
          this.destroy(new Error('the fill this request followed failed'));
        } else if (progress.listeners('change').indexOf(pump) === -1) {
          progress.on('change', pump);
        }
      };
      pump();
    },
  });
}
