/**
 * @module The image queue of one edge process: images stored as the origin sent them (one key, for
 * every client) are re-encoded here, a few at a time (bounded queue, sharp in libuv's thread pool).
 * Each Accept bucket then gets the smallest picture its clients can display — AVIF, WebP or the
 * original format re-encoded, or the origin's own bytes — stored once however many buckets share
 * it (the others point at it), all as one object. Nothing is written when nothing came out smaller,
 * or when the original is no longer what is stored (purged or replaced meanwhile).
 */
import { metrics } from '../metrics/metrics.js';
import { storedHeader } from '../store/entry-index.js';
import type { CachedEntry, CacheStore, Representation } from '../store/types.js';
import { representationEtag } from '../transform/compress.js';
import { BoundedQueue, IMAGE_BUCKETS, type ImageBucket, type Optimised, optimise } from '../transform/images.js';
import type { RequestView } from './recv.js';
import { type ImageJob, imageKeys, representationHeaders } from './representations.js';

/** The formats each Accept bucket's clients display, best first: what it may be served. */
const DISPLAYS: Record<ImageBucket, readonly ImageBucket[]> = {
  avif: ['avif', 'webp', 'original'],
  webp: ['webp', 'original'],
  original: ['original'],
};

export class ImageOptimiser {
  private readonly queues = new Map<string, BoundedQueue>();

  constructor(
    private readonly store: CacheStore,
    private readonly now: () => number,
    private readonly onError: (error: unknown, view: RequestView) => void,
  ) {}

  /** Images waiting or being re-encoded (for tests and metrics). */
  get pending(): number {
    let n = 0;
    for (const queue of this.queues.values()) n += queue.pending;
    return n;
  }

  /** Queues an image; false when the queue is full (the original then stays as it is). */
  enqueue(view: RequestView, job: ImageJob): boolean {
    const settings = view.service.transform.images;
    let queue = this.queues.get(view.service.id);
    if (!queue) {
      queue = new BoundedQueue(settings.concurrency, settings.queueLimit);
      this.queues.set(view.service.id, queue);
    }
    return queue.add(() => this.run(view, job).catch((error: unknown) => this.onError(error, view)));
  }

  private async run(view: RequestView, job: ImageJob): Promise<void> {
    const settings = view.service.transform.images;
    const service = view.service.id;
    const made = new Map<ImageBucket, Optimised>();
    for (const format of IMAGE_BUCKETS) {
      let result: Optimised | undefined;
      try {
        result = await optimise(job.original, format, settings);
      } catch (error) {
        // Refused input (too many pixels, corrupt, truncated): the original stays, stored once.
        metrics.imagesOptimised.inc({ service, result: 'refused' });
        throw error;
      }
      metrics.imagesOptimised.inc({ service, result: result ? 'smaller' : 'kept' });
      if (result) made.set(format, result);
    }
    if (made.size === 0) return; // nothing smaller: the single original keeps serving everyone
    const now = this.now();
    const current = await this.store.get(service, job.object, now);
    if (current?.kind !== 'entry' || current.meta.storedAt !== job.meta.storedAt) return;

    const keys = imageKeys(view, job.names);
    const originEtag = storedHeader(job.meta.headers, 'etag');
    /** The bytes of one format (the origin's own for "original" when nothing beat them). */
    const bytesOf = (format: ImageBucket) =>
      made.get(format)?.bytes ?? (format === 'original' ? job.original : undefined);
    const written = new Map<ImageBucket, string>(); // format -> the key holding its bytes
    const representations: Representation[] = [];
    for (const bucket of IMAGE_BUCKETS) {
      // The smallest picture this bucket's clients display.
      let best: ImageBucket = 'original';
      for (const format of DISPLAYS[bucket]) {
        const bytes = bytesOf(format);
        if (bytes && bytes.length < (bytesOf(best) as Buffer).length) best = format;
      }
      const { key, variant } = keys.keyFor(bucket);
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
          varyNames: keys.names,
          variant,
          ...(result
            ? {
                imageFormat: result.format,
                identityBytes: job.original.length,
                ...(originEtag !== undefined && !originEtag.startsWith('W/') ? { originEtag } : {}),
              }
            : {}),
        },
        body: bytesOf(best) as Buffer,
      };
      representations.push({ key, entry });
    }
    // The object is listed by its first representation: the bytes of the origin's own format.
    const originalKey = keys.keyFor('original').key;
    const original = representations.find((r) => r.key === originalKey);
    const lead = original && 'aliasOf' in original ? original.aliasOf : originalKey;
    representations.sort((a, b) => Number(b.key === lead) - Number(a.key === lead));
    await this.store.put(
      {
        service,
        primaryKey: view.primary.hash,
        object: job.object,
        varyNames: keys.names,
        representations,
        maxObjects: view.service.cache.maxObjects,
        maxBytes: view.service.cache.maxBytes,
        lfuHalfLifeMs: view.service.cache.lfuHalfLifeMs,
      },
      now,
    );
  }
}
