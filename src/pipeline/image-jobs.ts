/**
 * @module The image queue of one edge process: images stored as the origin sent them are re-encoded
 * here, a few at a time (bounded queue, sharp in libuv's thread pool), and each result smaller
 * than the original replaces it for its Accept bucket. A result is written only if the original
 * is still what is stored there (not purged or replaced meanwhile).
 */
import { metrics } from '../metrics/metrics.js';
import { storedHeader } from '../store/entry-index.js';
import type { CachedEntry, CacheStore } from '../store/types.js';
import { representationEtag } from '../transform/compress.js';
import { BoundedQueue, IMAGE_BUCKETS, optimise } from '../transform/images.js';
import type { RequestView } from './recv.js';
import { type ImageJob, representationHeaders } from './representations.js';

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
    for (const bucket of IMAGE_BUCKETS) {
      let result: Awaited<ReturnType<typeof optimise>>;
      try {
        result = await optimise(job.original, bucket, settings);
      } catch (error) {
        // Refused input (too many pixels, corrupt, truncated): the originals stay.
        metrics.imagesOptimised.inc({ service, result: 'refused' });
        throw error;
      }
      metrics.imagesOptimised.inc({ service, result: result ? 'smaller' : 'kept' });
      if (!result) continue;
      const key = job.keys[bucket];
      const now = this.now();
      const current = await this.store.get(service, key, now);
      if (current?.kind !== 'entry' || current.meta.storedAt !== job.meta.storedAt) continue;
      const originEtag = storedHeader(job.meta.headers, 'etag');
      const entry: CachedEntry = {
        kind: 'entry',
        meta: {
          ...current.meta,
          headers: representationHeaders(current.meta.headers, {
            encoding: 'identity',
            etag: representationEtag(originEtag, result.format),
            vary: 'Accept',
            contentType: result.contentType,
          }),
          imageFormat: result.format,
          identityBytes: job.original.length,
          ...(originEtag !== undefined && !originEtag.startsWith('W/') ? { originEtag } : {}),
        },
        body: result.bytes,
      };
      await this.store.put(
        {
          service,
          primaryKey: view.primary.hash,
          entryKey: key,
          entry,
          maxObjects: view.service.cache.maxObjects,
          maxBytes: view.service.cache.maxBytes,
          lfuHalfLifeMs: view.service.cache.lfuHalfLifeMs,
        },
        now,
      );
    }
  }
}
