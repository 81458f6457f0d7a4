/**
 * @module Image optimisation with sharp, off the request path. An image is first stored as the
 * origin sent it (every client gets those bytes at once); a bounded queue then re-encodes it —
 * metadata stripped but the colour profile kept, oriented, the original format at the service's
 * quality, WebP and AVIF for clients whose Accept allows them — and each result replaces the
 * original for its Accept bucket only when it is smaller. Hostile input (huge pixel counts,
 * truncated or corrupt files, animations) leaves the original in place.
 */
import type { default as Sharp } from 'sharp';

let loaded: Promise<typeof Sharp> | undefined;

/**
 * sharp, loaded on the first image (libvips adds tens of MiB to a process's RSS: an edge that never
 * sees an image never pays it), with libvips's operation cache off — it would hold decoded images
 * between jobs, and each image is re-encoded once.
 */
function loadSharp(): Promise<typeof Sharp> {
  loaded ??= import('sharp').then(({ default: sharp }) => {
    sharp.cache(false);
    return sharp;
  });
  return loaded;
}

export type ImageBucket = 'avif' | 'webp' | 'original';
export const IMAGE_BUCKETS: readonly ImageBucket[] = ['avif', 'webp', 'original'];

/** The key's view of `Accept` for images: the best format the edge makes that the client takes. */
export function imageBucket(accept: string | undefined): ImageBucket {
  if (!accept) return 'original';
  const accepted = (type: string) =>
    accept.split(',').some((item) => {
      const [name, ...params] = item.split(';');
      if ((name ?? '').trim().toLowerCase() !== type) return false;
      const q = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='));
      return q === undefined || Number(q.slice(2)) > 0;
    });
  if (accepted('image/avif')) return 'avif';
  if (accepted('image/webp')) return 'webp';
  return 'original';
}

export const OPTIMISABLE = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/avif']);

export interface ImageSettings {
  enabled: boolean;
  /** WebP / JPEG quality (1–100). */
  quality: number;
  avifQuality: number;
  /** AVIF encoder effort 0–9: the cost per megapixel grows steeply (docs/benchmarks.md). */
  avifEffort: number;
  /**
   * PNG re-encoded without loss (deflate at its best), or quantised to a palette of at most 256
   * colours with dithering (libimagequant at `quality`): far fewer bytes for photographs saved as
   * PNG, at the cost of exact pixels (docs/transforms.md, "PNG: lossless or lossy").
   */
  png: 'lossless' | 'lossy';
  /** Larger images (width × height) are left as they are. */
  maxPixels: number;
  timeoutMs: number;
}

export interface Optimised {
  bytes: Buffer;
  contentType: string;
  format: string;
}

const MIME: Record<string, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', avif: 'image/avif' };

/**
 * The image re-encoded for a bucket, or undefined when that would not help (not smaller,
 * animated, a GIF kept as GIF). Throws on input sharp refuses (too many pixels, corrupt, truncated).
 */
export async function optimise(
  original: Buffer,
  bucket: ImageBucket,
  settings: ImageSettings,
): Promise<Optimised | undefined> {
  const options = { limitInputPixels: settings.maxPixels, failOn: 'truncated' as const, sequentialRead: true };
  const sharp = await loadSharp();
  const metadata = await sharp(original, options).metadata();
  // Animations keep every frame as the origin made them.
  if ((metadata.pages ?? 1) > 1) return undefined;
  const source = metadata.format === 'heif' ? 'avif' : metadata.format;
  const format = bucket === 'original' ? source : bucket;
  let pipeline = sharp(original, options)
    .timeout({ seconds: Math.max(1, Math.ceil(settings.timeoutMs / 1000)) })
    .rotate() // apply EXIF orientation before the metadata goes
    .keepIccProfile(); // colours stay right on wide-gamut images
  if (format === 'jpeg') pipeline = pipeline.jpeg({ quality: settings.quality, mozjpeg: true });
  else if (format === 'png') {
    pipeline = pipeline.png({ compressionLevel: 9, effort: 7 });
    if (settings.png === 'lossy')
      return smallerOf(original, await pipeline.toBuffer(), await palettePng(sharp, original, options, settings));
  } else if (format === 'webp') pipeline = pipeline.webp({ quality: settings.quality, effort: 4 });
  else if (format === 'avif') pipeline = pipeline.avif({ quality: settings.avifQuality, effort: settings.avifEffort });
  else return undefined; // GIF (and anything else) stays as the origin made it
  const bytes = await pipeline.toBuffer();
  if (bytes.length >= original.length) return undefined;
  return { bytes, contentType: MIME[format] as string, format };
}

/**
 * A PNG quantised to a palette of at most 256 colours, dithered (libimagequant at `quality`).
 * Smooth gradients and soft transparency can come out larger than the lossless file
 * (docs/transforms.md): the caller keeps the smaller.
 */
function palettePng(
  sharp: typeof Sharp,
  original: Buffer,
  options: Parameters<typeof Sharp>[1],
  settings: ImageSettings,
): Promise<Buffer> {
  return sharp(original, options)
    .timeout({ seconds: Math.max(1, Math.ceil(settings.timeoutMs / 1000)) })
    .rotate()
    .keepIccProfile()
    .png({ compressionLevel: 9, effort: 7, palette: true, quality: settings.quality })
    .toBuffer();
}

/** The smaller of two PNG encodings, if it is smaller than the origin's bytes. */
function smallerOf(original: Buffer, lossless: Buffer, palette: Buffer): Optimised | undefined {
  const bytes = palette.length < lossless.length ? palette : lossless;
  return bytes.length < original.length ? { bytes, contentType: 'image/png', format: 'png' } : undefined;
}

/** Runs jobs a few at a time; beyond `limit` waiting, new jobs are dropped (the originals stay). */
export class BoundedQueue {
  private running = 0;
  private readonly waiting: (() => Promise<void>)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly limit: number,
  ) {}

  /** False when the job was dropped. */
  add(job: () => Promise<void>): boolean {
    if (this.waiting.length >= this.limit) return false;
    this.waiting.push(job);
    this.next();
    return true;
  }

  get pending(): number {
    return this.running + this.waiting.length;
  }

  private next(): void {
    while (this.running < this.concurrency && this.waiting.length > 0) {
      const job = this.waiting.shift() as () => Promise<void>;
      this.running++;
      void job()
        .catch(() => undefined)
        .finally(() => {
          this.running--;
          this.next();
        });
    }
  }
}
