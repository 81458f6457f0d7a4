/**
 * Pictures made with sharp, the kinds an edge is sent (the image tests and `npm run bench --
 * transform` use them): a photograph (smooth light, soft shapes, sensor noise) as a camera's JPEG
 * and as a PNG of the same picture; a flat graphic (solid colours, hard edges, few colours) as PNG;
 * and a PNG with transparency (soft shadows and a translucent gradient over nothing).
 */
import sharp from 'sharp';

export type PictureKind = 'photo-jpeg' | 'photo-png' | 'graphic-png' | 'transparent-png';

export interface Picture {
  kind: PictureKind;
  type: 'image/jpeg' | 'image/png';
  bytes: Buffer;
}

/** Deterministic noise, so every run encodes the same pixels. */
function noise(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function photoSvg(width: number, height: number): string {
  const random = noise(3);
  const shapes = Array.from({ length: 40 }, () => {
    const cx = Math.round(random() * width);
    const cy = Math.round(height * (0.45 + random() * 0.5));
    const r = Math.round(20 + random() * 90);
    const green = Math.round(80 + random() * 100);
    return `<ellipse cx="${cx}" cy="${cy}" rx="${r}" ry="${Math.round(r * 1.3)}" fill="rgb(${Math.round(green / 3)},${green},${Math.round(green / 2.5)})" opacity="0.8"/>`;
  }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs>
      <linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#3a6fb0"/><stop offset="1" stop-color="#f3d9b1"/></linearGradient>
      <radialGradient id="sun"><stop offset="0" stop-color="#fff7d6"/><stop offset="1" stop-color="#fff7d6" stop-opacity="0"/></radialGradient>
      <filter id="soft"><feGaussianBlur stdDeviation="6"/></filter>
    </defs>
    <rect width="100%" height="100%" fill="url(#sky)"/>
    <circle cx="${width * 0.78}" cy="${height * 0.22}" r="${height * 0.25}" fill="url(#sun)"/>
    <path d="M0 ${height * 0.6} Q ${width * 0.3} ${height * 0.45} ${width * 0.6} ${height * 0.58} T ${width} ${height * 0.55} V ${height} H 0 Z" fill="#5d7a3a"/>
    <g filter="url(#soft)">${shapes}</g>
  </svg>`;
}

/** A photograph: the scene, then a camera's noise and a lens's softness, as RGB pixels. */
async function photoPixels(width: number, height: number): Promise<Buffer> {
  const { data } = await sharp(Buffer.from(photoSvg(width, height)))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const random = noise(11);
  for (let i = 0; i < data.length; i++) {
    data[i] = Math.max(0, Math.min(255, (data[i] as number) + Math.round((random() - 0.5) * 14)));
  }
  return sharp(data, { raw: { width, height, channels: 3 } })
    .blur(0.6)
    .raw()
    .toBuffer();
}

function graphicSvg(width: number, height: number): string {
  const bars = [0.3, 0.55, 0.42, 0.8, 0.65, 0.9]
    .map(
      (h, i) =>
        `<rect x="${120 + i * 150}" y="${(0.85 - h * 0.6) * height}" width="100" height="${h * 0.6 * height}" fill="${['#e4572e', '#17bebb', '#ffc914', '#2e282a', '#76b041', '#5b5f97'][i]}"/>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="100%" height="100%" fill="#ffffff"/>
    <rect x="40" y="40" width="${width - 80}" height="70" rx="12" fill="#2e282a"/>
    <circle cx="90" cy="75" r="22" fill="#ffc914"/>
    ${bars}
    <line x1="100" y1="${height * 0.85}" x2="${width - 60}" y2="${height * 0.85}" stroke="#2e282a" stroke-width="4"/>
    <polygon points="${width - 220},${height * 0.3} ${width - 120},${height * 0.15} ${width - 60},${height * 0.35}" fill="#17bebb" stroke="#2e282a" stroke-width="3"/>
  </svg>`;
}

function transparentSvg(width: number, height: number): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs>
      <linearGradient id="glass" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#5b5f97" stop-opacity="0.9"/><stop offset="1" stop-color="#17bebb" stop-opacity="0.35"/></linearGradient>
      <filter id="shadow"><feGaussianBlur stdDeviation="18"/></filter>
    </defs>
    <ellipse cx="${width / 2}" cy="${height * 0.8}" rx="${width * 0.3}" ry="${height * 0.07}" fill="#000" opacity="0.45" filter="url(#shadow)"/>
    <rect x="${width * 0.22}" y="${height * 0.12}" width="${width * 0.56}" height="${height * 0.6}" rx="60" fill="url(#glass)"/>
    <circle cx="${width * 0.5}" cy="${height * 0.42}" r="${height * 0.18}" fill="#ffc914"/>
    <circle cx="${width * 0.5}" cy="${height * 0.42}" r="${height * 0.1}" fill="#e4572e" opacity="0.7"/>
  </svg>`;
}

/** Every kind, at `width`×`height` (the pictures were 1200×800). */
export async function pictures(width = 1200, height = 800): Promise<Picture[]> {
  const photo = await photoPixels(width, height);
  const raw = { raw: { width, height, channels: 3 as const } };
  return [
    // A camera's JPEG: high quality, 4:2:0, as phones and cameras write them.
    { kind: 'photo-jpeg', type: 'image/jpeg', bytes: await sharp(photo, raw).jpeg({ quality: 92 }).toBuffer() },
    // The same picture as a PNG, as sites export screenshots and edited photos.
    { kind: 'photo-png', type: 'image/png', bytes: await sharp(photo, raw).png({ compressionLevel: 6 }).toBuffer() },
    {
      kind: 'graphic-png',
      type: 'image/png',
      bytes: await sharp(Buffer.from(graphicSvg(width, height)))
        .png({ compressionLevel: 6 })
        .toBuffer(),
    },
    {
      kind: 'transparent-png',
      type: 'image/png',
      bytes: await sharp(Buffer.from(transparentSvg(width, height)))
        .png({ compressionLevel: 6 })
        .toBuffer(),
    },
  ];
}
