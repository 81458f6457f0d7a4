/**
 * SSIM as the image benchmark computes it: 1 for the same picture, lower the more a person would
 * see, and transparency judged over both backgrounds.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ssim, ssimOfLuma } from '../../../src/transform/ssim.js';

const W = 64;
const H = 48;

/** A smooth gradient with a few hard edges, as luma. */
function plane(): Float64Array {
  const out = new Float64Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out[y * W + x] = (x * 3 + y * 2 + (x > 30 ? 60 : 0)) % 256;
  return out;
}

describe('SSIM', () => {
  it('is 1 for identical planes, and falls as the damage grows', () => {
    const a = plane();
    expect(ssimOfLuma(a, a, W, H)).toBeCloseTo(1, 10);
    const damaged = (amount: number) =>
      a.map((v, i) => Math.min(255, Math.max(0, v + (((i * 7919) % 17) - 8) * amount)));
    const slight = ssimOfLuma(a, damaged(0.5), W, H);
    const heavy = ssimOfLuma(a, damaged(4), W, H);
    expect(slight).toBeLessThan(1);
    expect(heavy).toBeLessThan(slight);
    expect(heavy).toBeGreaterThan(0);
  });

  it('refuses planes of different sizes, or smaller than a window', () => {
    expect(() => ssimOfLuma(plane(), new Float64Array(10), W, H)).toThrow(/different sizes/);
    expect(() => ssimOfLuma(new Float64Array(16), new Float64Array(16), 4, 4)).toThrow(/smaller than one 8×8 window/);
  });

  it('sees a change in transparency that one background alone would hide', async () => {
    const pixels = (alpha: number) =>
      sharp(
        Buffer.alloc(W * H * 4, 0).map((_, i) => (i % 4 === 3 ? alpha : 255)),
        {
          raw: { width: W, height: H, channels: 4 },
        },
      )
        .png()
        .toBuffer();
    // White pixels, opaque or half transparent: the same over white, not over black.
    const [opaque, faded] = await Promise.all([pixels(255), pixels(128)]);
    expect(await ssim(sharp, opaque, opaque)).toBeCloseTo(1, 6);
    expect(await ssim(sharp, opaque, faded)).toBeLessThan(0.9);
  });
});
