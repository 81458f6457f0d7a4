/**
 * The images part of `npm run bench -- transform` (docs/transforms.md, "Images: bytes against
 * quality"): for each kind of picture (test/helpers/pictures.ts), the bytes of every format at the
 * qualities worth considering beside their SSIM against the origin's picture (src/transform/ssim.ts),
 * and then what a browser mix downloads (AVIF 70%, WebP only 20%, neither 10%) when each Accept
 * bucket gets its own format (before issue 20) and when it gets the smallest it displays (now),
 * with the edge's own encoder and defaults (src/transform/images.ts).
 */
import sharp, { type Sharp } from 'sharp';
import { parseConfig } from '../src/config/load.js';
import { type ImageBucket, type ImageSettings, optimise } from '../src/transform/images.js';
import { ssim } from '../src/transform/ssim.js';
import { type Picture, pictures } from '../test/helpers/pictures.js';

/** The share of each Accept bucket in the mix the issue names. */
const MIX: Record<ImageBucket, number> = { avif: 0.7, webp: 0.2, original: 0.1 };

interface Setting {
  name: string;
  /** Only for these source formats (the original format re-encoded). */
  for?: 'jpeg' | 'png';
  make: (s: Sharp) => Sharp;
}

const SETTINGS: Setting[] = [
  ...[60, 70, 75, 80, 85, 90].map(
    (q): Setting => ({ name: `jpeg q${q}`, for: 'jpeg', make: (s) => s.jpeg({ quality: q, mozjpeg: true }) }),
  ),
  { name: 'png lossless', for: 'png', make: (s) => s.png({ compressionLevel: 9, effort: 7 }) },
  ...[50, 65, 80, 90].map(
    (q): Setting => ({
      name: `png lossy q${q}`,
      for: 'png',
      make: (s) => s.png({ compressionLevel: 9, effort: 7, palette: true, quality: q }),
    }),
  ),
  ...[60, 70, 75, 80, 90].map((q): Setting => ({ name: `webp q${q}`, make: (s) => s.webp({ quality: q, effort: 4 }) })),
  ...[35, 45, 50, 55, 65].map((q): Setting => ({ name: `avif q${q}`, make: (s) => s.avif({ quality: q, effort: 2 }) })),
];

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

async function curve(picture: Picture): Promise<void> {
  const source = picture.type === 'image/jpeg' ? 'jpeg' : 'png';
  console.log(`\n  ${picture.kind}: the origin's ${source.toUpperCase()}, ${kib(picture.bytes.length)}`);
  console.log(`    ${'setting'.padEnd(16)} ${'bytes'.padStart(11)}  ${'of origin'.padStart(9)}  SSIM`);
  for (const setting of SETTINGS) {
    if (setting.for !== undefined && setting.for !== source) continue;
    const bytes = await setting.make(sharp(picture.bytes).rotate().keepIccProfile()).toBuffer();
    const score = await ssim(sharp, picture.bytes, bytes);
    console.log(
      `    ${setting.name.padEnd(16)} ${kib(bytes.length).padStart(11)}  ${`${((bytes.length / picture.bytes.length) * 100).toFixed(0)} %`.padStart(9)}  ${score.toFixed(4)}`,
    );
  }
}

/** What each bucket is served under a rule: the edge's encodings, chosen as the rule says. */
async function served(
  picture: Picture,
  settings: ImageSettings,
): Promise<{ before: Record<ImageBucket, Buffer>; after: Record<ImageBucket, Buffer> }> {
  const made: Partial<Record<ImageBucket, Buffer>> = {};
  for (const format of ['avif', 'webp', 'original'] as const) {
    const result = await optimise(picture.bytes, format, settings);
    if (result) made[format] = result.bytes;
  }
  const origin = picture.bytes;
  const own = (format: ImageBucket) => made[format] ?? origin;
  // Before: each bucket its own format, where it came out smaller than the origin's bytes.
  const before = { avif: own('avif'), webp: own('webp'), original: own('original') };
  // Now: the smallest picture the bucket's clients display.
  const smallest = (...formats: ImageBucket[]) =>
    formats.map(own).reduce((best, bytes) => (bytes.length < best.length ? bytes : best));
  const after = {
    avif: smallest('avif', 'webp', 'original'),
    webp: smallest('webp', 'original'),
    original: own('original'),
  };
  return { before, after };
}

const mixBytes = (bytes: Record<ImageBucket, Buffer>) =>
  (Object.keys(MIX) as ImageBucket[]).reduce((sum, bucket) => sum + MIX[bucket] * bytes[bucket].length, 0);

export async function imageQuality(): Promise<void> {
  const kinds = await pictures();
  console.log(
    '\n5. images: bytes against quality (SSIM on luma against the origin, 8×8 windows; transparency over white and black, the worse)',
  );
  for (const picture of kinds) await curve(picture);

  const settings = parseConfig(
    { services: [{ id: 'b', hosts: ['b.test'], origin: { url: 'http://127.0.0.1:1' } }] },
    'bench',
    {},
  ).services[0]?.transform.images as ImageSettings;
  // Before issue 20: AVIF at quality 50, and each bucket served its own format when smaller than the origin.
  const earlier: ImageSettings = { ...settings, avifQuality: 50, png: 'lossless' };
  console.log(
    `\n6. a browser mix (AVIF 70%, WebP only 20%, neither 10%): bytes per picture downloaded, before issue 20 ` +
      `(each bucket its own format, AVIF q50) and now (the smallest each bucket displays; quality ${settings.quality}, ` +
      `AVIF ${settings.avifQuality}, PNG ${settings.png})`,
  );
  console.log(
    `    ${'picture'.padEnd(16)} ${'origin'.padStart(11)}  ${'before'.padStart(11)}  ${'now'.padStart(11)}  served now (AVIF / WebP-only / plain client)`,
  );
  let totalBefore = 0;
  let totalAfter = 0;
  let totalOrigin = 0;
  for (const picture of kinds) {
    const { before } = await served(picture, earlier);
    const { after } = await served(picture, settings);
    const [b, a] = [mixBytes(before), mixBytes(after)];
    totalBefore += b;
    totalAfter += a;
    totalOrigin += picture.bytes.length;
    const format = async (bytes: Buffer) => `${(await sharp(bytes).metadata()).format} ${kib(bytes.length)}`;
    console.log(
      `    ${picture.kind.padEnd(16)} ${kib(picture.bytes.length).padStart(11)}  ${kib(b).padStart(11)}  ${kib(a).padStart(11)}  ${await format(after.avif)} / ${await format(after.webp)} / ${await format(after.original)}`,
    );
  }
  console.log(
    `    ${'all four'.padEnd(16)} ${kib(totalOrigin).padStart(11)}  ${kib(totalBefore).padStart(11)}  ${kib(totalAfter).padStart(11)}  (${((1 - totalAfter / totalBefore) * 100).toFixed(0)} % less than before)`,
  );
}
