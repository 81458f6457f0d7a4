/**
 * @module The image queue: images stored as the origin sent them (one key, for every client) are
 * re-encoded here, a few at a time (bounded queue, sharp in libuv's thread pool) — in the edge
 * process itself when it runs alone, else in the node's one image worker (cli/image-worker.ts), so
 * sharp and libvips are loaded in one process only.
 * Each Accept bucket then gets the smallest picture its clients can display — AVIF, WebP or the
 * original format re-encoded, or the origin's own bytes — stored once however many buckets share
 * it (the others point at it), all as one object. Nothing is written when nothing came out smaller,
 * or when the original is no longer what is stored (purged or replaced meanwhile).
 */
import type { ServiceConfig } from '../config/schema.js';
import { metrics } from '../metrics/metrics.js';
import { storedHeader } from '../store/entry-index.js';
import type { CachedEntry, CacheStore, Representation } from '../store/types.js';
import { representationEtag } from '../transform/compress.js';
import { BoundedQueue, IMAGE_BUCKETS, type ImageBucket, type Optimised, optimise } from '../transform/images.js';
import { type ImageJob, representationHeaders } from './representations.js';

/** The formats each Accept bucket's clients display, best first: what it may be served. */
const DISPLAYS: Record<ImageBucket, readonly ImageBucket[]> = {
  avif: ['avif', 'webp', 'original'],
  webp: ['webp', 'original'],
  original: ['original'],
};

/** Where an edge process sends its image jobs: its own optimiser, or the node's image worker. */
export interface ImageSink {
  /** Queues a job; false when it cannot be taken (the original then stays as it is). */
  enqueue(job: ImageJob): boolean;
  /** Jobs waiting or being re-encoded here (for tests and metrics). */
  readonly pending: number;
}

export class ImageOptimiser implements ImageSink {
  private readonly queues = new Map<string, BoundedQueue>();

  constructor(
    private readonly store: CacheStore,
    private readonly now: () => number,
    /** The services' configuration, by id. */
    private readonly services: (id: string) => ServiceConfig | undefined,
    private readonly onError: (error: unknown, job: ImageJob) => void,
  ) {}

  get pending(): number {
    let n = 0;
    for (const queue of this.queues.values()) n += queue.pending;
    return n;
  }

  enqueue(job: ImageJob): boolean {
    const service = this.services(job.service);
    if (!service) return false;
    const settings = service.transform.images;
    let queue = this.queues.get(service.id);
    if (!queue) {
      queue = new BoundedQueue(settings.concurrency, settings.queueLimit);
      this.queues.set(service.id, queue);
    }
    return queue.add(() => this.run(service, job).catch((error: unknown) => this.onError(error, job)));
  }

  /** The stored original, unless it was purged or replaced since the job was made. */
  private async storedOriginal(job: ImageJob): Promise<CachedEntry | undefined> {
    const current = await this.store.get(job.service, job.object, this.now());
    return current?.kind === 'entry' && current.meta.storedAt === job.storedAt ? current : undefined;
  }

  private async run(service: ServiceConfig, job: ImageJob): Promise<void> {
    const settings = service.transform.images;
    const original = job.original ?? (await this.storedOriginal(job))?.body;
    if (!original) return;
    const made = new Map<ImageBucket, Optimised>();
    for (const format of IMAGE_BUCKETS) {
      let result: Optimised | undefined;
      try {
        result = await optimise(original, format, settings);
      } catch (error) {
        // Refused input (too many pixels, corrupt, truncated): the original stays, stored once.
        metrics.imagesOptimised.inc({ service: service.id, result: 'refused' });
        throw error;
      }
      metrics.imagesOptimised.inc({ service: service.id, result: result ? 'smaller' : 'kept' });
      if (result) made.set(format, result);
    }
    if (made.size === 0) return; // nothing smaller: the single original keeps serving everyone
    const current = await this.storedOriginal(job);
    if (!current) return;

    const originEtag = storedHeader(current.meta.headers, 'etag');
    /** The bytes of one format (the origin's own for "original" when nothing beat them). */
    const bytesOf = (format: ImageBucket) => made.get(format)?.bytes ?? (format === 'original' ? original : undefined);
    const written = new Map<ImageBucket, string>(); // format -> the key holding its bytes
    const representations: Representation[] = [];
    for (const { bucket, key, variant } of job.buckets) {
      // The smallest picture this bucket's clients display.
      let best: ImageBucket = 'original';
      for (const format of DISPLAYS[bucket as ImageBucket]) {
        const bytes = bytesOf(format);
        if (bytes && bytes.length < (bytesOf(best) as Buffer).length) best = format;
      }
      const holder = written.get(best);
      if (holder !== undefined) {
        representations.push({ key, aliasOf: holder });
        continue;
      }
      written.set(best, key);
      const result = made.get(best);
      const entry: CachedEntry = {
        kind: 'entry',
        meta: {
          ...current.meta,
          headers: representationHeaders(current.meta.headers, {
            encoding: 'identity',
            etag: result ? representationEtag(originEtag, result.format) : originEtag,
            vary: 'Accept',
            ...(result ? { contentType: result.contentType } : {}),
          }),
          varyNames: job.names,
          variant,
          ...(result
            ? {
                imageFormat: result.format,
                identityBytes: original.length,
                ...(originEtag !== undefined && !originEtag.startsWith('W/') ? { originEtag } : {}),
              }
            : {}),
        },
        body: bytesOf(best) as Buffer,
      };
      representations.push({ key, entry });
    }
    // The object is listed by its first representation: the bytes of the origin's own format.
    const originalKey = job.buckets.find((b) => b.bucket === 'original')?.key;
    const lead = representations.find((r) => r.key === originalKey);
    const leadKey = lead && 'aliasOf' in lead ? lead.aliasOf : originalKey;
    representations.sort((a, b) => Number(b.key === leadKey) - Number(a.key === leadKey));
    await this.store.put(
      {
        service: service.id,
        primaryKey: job.primaryKey,
        object: job.object,
        varyNames: job.names,
        representations,
        maxObjects: service.cache.maxObjects,
        maxBytes: service.cache.maxBytes,
        lfuHalfLifeMs: service.cache.lfuHalfLifeMs,
      },
      this.now(),
    );
  }
}
