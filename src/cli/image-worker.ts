/**
 * @module The node's image worker: under `cachefront serve` with several edge workers, images are
 * optimised in one process of their own, so sharp and libvips (tens of MiB each time they are
 * loaded) live there and nowhere else. The primary starts it on the first image job, so a node
 * that never sees an image never pays for it. Edge workers send plain jobs over IPC — keys and ids, never
 * the image: the primary passes them on, and the image worker reads the original from Redis. A job
 * that cannot be sent or taken leaves the original stored as it is, which every client can use.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { ImageOptimiser, type ImageSink } from '../pipeline/image-jobs.js';
import type { ImageJob } from '../pipeline/representations.js';
import { connectRedis } from '../redis/connect.js';
import { RedisServiceCatalog } from '../services/catalog.js';
import { CatalogWatcher, nodeName } from '../services/catalog-watcher.js';
import { openRedisStore } from '../store/open-redis-store.js';
import type { WorkerContext } from './worker-config.js';
import { IMAGE_JOB, IMAGE_WORKER_READY, isImageJobMessage } from './worker-roles.js';

const jobSchema = z.object({
  service: z.string(),
  primaryKey: z.string(),
  url: z.string(),
  object: z.string(),
  storedAt: z.number(),
  names: z.array(z.string()),
  buckets: z.array(
    z.object({ bucket: z.string(), key: z.string(), variant: z.array(z.tuple([z.string(), z.string().nullable()])) }),
  ),
});
const messageSchema = z.object({ type: z.literal(IMAGE_JOB), job: jobSchema });

/** An edge worker's sink: jobs go to the primary, which hands them to the image worker. */
export class IpcImageSink implements ImageSink {
  readonly pending = 0;

  enqueue(job: ImageJob): boolean {
    if (!process.send || !process.connected) return false;
    const { original: _bytes, ...plain } = job; // the image worker reads them from the store
    process.send({ type: IMAGE_JOB, job: plain });
    return true;
  }
}

export async function runImageWorker(context: WorkerContext, target: string, log: Logger): Promise<number> {
  const { live } = context;
  const config = live.current;
  const { store, client, reader } = openRedisStore({ ...config.redis, url: target, region: config.region?.id ?? '' });
  try {
    await Promise.all([connectRedis(client), connectRedis(reader)]);
  } catch (error) {
    log.error({ err: error, redis: target }, 'the image worker could not reach Redis');
    await store.close();
    return 1;
  }
  // The services as the node runs them now: reloads and the catalog reach this process too.
  const watcher = config.catalog.enabled
    ? new CatalogWatcher({
        catalog: new RedisServiceCatalog(client),
        live,
        node: nodeName(),
        checkEveryMs: config.catalog.checkEveryMs,
        log,
      })
    : undefined;
  await watcher?.start();
  context.ready();
  const optimiser = new ImageOptimiser(
    store,
    Date.now,
    (id) => live.current.services.find((service) => service.id === id),
    (error, job) => log.warn({ err: error, service: job.service, url: job.url }, 'image left as the origin sent it'),
  );
  const onMessage = (message: unknown) => {
    if (!isImageJobMessage(message)) return;
    const parsed = messageSchema.safeParse(message);
    if (!parsed.success) {
      log.warn({ issues: parsed.error.issues.slice(0, 3) }, 'image job refused: not a job this version makes');
      return;
    }
    optimiser.enqueue(parsed.data.job);
  };
  process.on('message', onMessage);
  process.send?.({ type: IMAGE_WORKER_READY });
  log.info({ services: live.current.services.length }, 'image worker started');
  return new Promise((resolve) => {
    const stop = async () => {
      process.off('message', onMessage);
      // Jobs under way finish within the grace; those left keep their originals.
      const deadline = Date.now() + live.current.edge.shutdownGraceMs;
      while (optimiser.pending > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await watcher?.close();
      await store.close();
      resolve(0);
    };
    process.once('SIGTERM', () => void stop());
    process.once('SIGINT', () => void stop());
  });
}
