/**
 * @module SSIM (Wang, Bovik, Sheikh, Simoncelli 2004): how alike two pictures look to a person,
 * from 1 (identical) down, comparing local luminance, contrast and structure rather than raw pixel
 * differences. Computed on luma (BT.601) in 8×8 windows every 4 pixels — the form libjpeg-turbo's
 * and x264's tools report — with transparent pixels composited over white and over black and the
 * worse of the two kept, so an error hidden by one background shows on the other. The benchmark
 * uses it to put each format's bytes beside what they cost the picture (docs/transforms.md).
 */
import type { default as Sharp } from 'sharp';

const WINDOW = 8;
const STEP = 4;
const C1 = (0.01 * 255) ** 2;
const C2 = (0.03 * 255) ** 2;

/** Mean SSIM of two luma planes of the same size. */
export function ssimOfLuma(a: Float64Array, b: Float64Array, width: number, height: number): number {
  if (a.length !== width * height || b.length !== width * height) throw new Error('planes of different sizes');
  let total = 0;
  let windows = 0;
  const n = WINDOW * WINDOW;
  for (let y = 0; y + WINDOW <= height; y += STEP) {
    for (let x = 0; x + WINDOW <= width; x += STEP) {
      let sumA = 0;
      let sumB = 0;
      let sumAA = 0;
      let sumBB = 0;
      let sumAB = 0;
      for (let dy = 0; dy < WINDOW; dy++) {
        const row = (y + dy) * width + x;
        for (let dx = 0; dx < WINDOW; dx++) {
          const pa = a[row + dx] as number;
          const pb = b[row + dx] as number;
          sumA += pa;
          sumB += pb;
          sumAA += pa * pa;
          sumBB += pb * pb;
          sumAB += pa * pb;
        }
      }
      const meanA = sumA / n;
      const meanB = sumB / n;
      const varA = sumAA / n - meanA * meanA;
      const varB = sumBB / n - meanB * meanB;
      const cov = sumAB / n - meanA * meanB;
      total +=
        ((2 * meanA * meanB + C1) * (2 * cov + C2)) / ((meanA * meanA + meanB * meanB + C1) * (varA + varB + C2));
      windows++;
    }
  }
  if (windows === 0) throw new Error(`an image of ${width}×${height} is smaller than one ${WINDOW}×${WINDOW} window`);
  return total / windows;
}

/** Luma of RGBA pixels composited over a background of `over` (0 black, 255 white). */
function luma(rgba: Buffer, over: number): Float64Array {
  const out = new Float64Array(rgba.length / 4);
  for (let i = 0, p = 0; i < rgba.length; i += 4, p++) {
    const alpha = (rgba[i + 3] as number) / 255;
    const y = 0.299 * (rgba[i] as number) + 0.587 * (rgba[i + 1] as number) + 0.114 * (rgba[i + 2] as number);
    out[p] = y * alpha + over * (1 - alpha);
  }
  return out;
}

/**
 * SSIM of an encoded picture against its reference (any formats sharp reads, same dimensions):
 * over white and over black, the worse.
 */
export async function ssim(sharp: typeof Sharp, reference: Buffer, candidate: Buffer): Promise<number> {
  const decode = (bytes: Buffer) =>
    sharp(bytes).rotate().ensureAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const [a, b] = await Promise.all([decode(reference), decode(candidate)]);
  const { width, height } = a.info;
  if (b.info.width !== width || b.info.height !== height) {
    throw new Error(`${b.info.width}×${b.info.height} is not the reference's ${width}×${height}`);
  }
  return Math.min(
    ssimOfLuma(luma(a.data, 255), luma(b.data, 255), width, height),
    ssimOfLuma(luma(a.data, 0), luma(b.data, 0), width, height),
  );
}
