/**
 * @module Text compression at store time: the identity, gzip and Brotli representations of a
 * response, made once when it is stored and served by the Accept-Encoding bucket of each hit. Origins that compress are recognised — their bytes are
 * kept for their own coding — and Content-Encoding is checked against the bytes (magic numbers),
 * so a lying header is never passed on to the store. Decoding is bounded: a decompression bomb
 * stops at the object size limit.
 */
import { promisify } from 'node:util';
import {
  brotliCompress,
  brotliCompressSync,
  brotliDecompress,
  constants,
  gunzip,
  gzip,
  gzipSync,
  inflate,
} from 'node:zlib';

export type Coding = 'identity' | 'gzip' | 'br';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);
const brotliAsync = promisify(brotliCompress);
const unbrotliAsync = promisify(brotliDecompress);

export interface CompressSettings {
  enabled: boolean;
  types: readonly string[];
  minBytes: number;
  brotliQuality: number;
  gzipLevel: number;
}

/** Is this media type (no parameters, lower-case) one the service compresses? */
export function compressible(mediaType: string, types: readonly string[]): boolean {
  if (mediaType === '') return false;
  return types.some((pattern) => (pattern.includes('*') ? globMatch(pattern, mediaType) : pattern === mediaType));
}

function globMatch(pattern: string, value: string): boolean {
  const [head, tail] = pattern.split('*', 2) as [string, string];
  return value.length >= head.length + tail.length && value.startsWith(head) && value.endsWith(tail);
}

/** The coding a body's first bytes show: gzip and zlib have magic numbers, Brotli has none. */
export function sniffCoding(first: Buffer): 'gzip' | 'deflate' | undefined {
  if (first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b) return 'gzip';
  // RFC 1950: CM = 8 (deflate), and the 16-bit header is a multiple of 31.
  const [a = 0, b = 0] = first;
  if (first.length >= 2 && (a & 0x0f) === 8 && (a * 256 + b) % 31 === 0) return 'deflate';
  return undefined;
}

/** The Content-Encoding of a response, as one lower-case coding ("identity" when none). */
export function declaredCoding(value: string | readonly string[] | undefined): string {
  const text = (Array.isArray(value) ? value.join(',') : (value as string | undefined)) ?? '';
  const codings = text
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  return codings.length === 0 ? 'identity' : codings.join(',');
}

/** Decodes a body, never past `maxBytes` of output (a decompression bomb fails here). */
export async function decode(body: Buffer, coding: string, maxBytes: number): Promise<Buffer> {
  const options = { maxOutputLength: Math.max(1, maxBytes) };
  switch (coding) {
    case 'identity':
      return body;
    case 'gzip':
    case 'x-gzip':
      return gunzipAsync(body, options);
    case 'deflate':
      return inflateAsync(body, options);
    case 'br':
      return unbrotliAsync(body, options);
    default:
      throw new Error(`cannot decode content-coding "${coding}"`);
  }
}

/**
 * Bodies up to this size are encoded on the event loop: for them, libuv's thread pool costs far
 * more than the work (hand-off, a fresh encoder per call, system time). `npm run bench -- encode`:
 * a 1 KiB page took 560 µs of CPU through the pool and 57 µs inline (Brotli q5), 360 and 50 µs
 * (gzip -6). An encode of 16 KiB holds the loop well under a millisecond; larger bodies go to the
 * pool.
 */
const INLINE_BYTES = 16 * 1024;

export function encode(
  identity: Buffer,
  coding: Exclude<Coding, 'identity'>,
  settings: CompressSettings,
): Promise<Buffer> {
  const inline = identity.length <= INLINE_BYTES;
  try {
    if (coding === 'gzip') {
      const options = { level: settings.gzipLevel };
      return inline ? Promise.resolve(gzipSync(identity, options)) : gzipAsync(identity, options);
    }
    const options = {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: settings.brotliQuality,
        [constants.BROTLI_PARAM_SIZE_HINT]: identity.length,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      },
    };
    return inline ? Promise.resolve(brotliCompressSync(identity, options)) : brotliAsync(identity, options);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * The strong ETag of a derived representation (a coding, or an image format): RFC 9110 §8.8.3 —
 * different representations must not share a strong validator. Weak ones may (equivalent meaning).
 */
export function representationEtag(etag: string | undefined, suffix: string): string | undefined {
  if (etag === undefined || suffix === 'identity' || etag.startsWith('W/')) return etag;
  return etag.endsWith('"') ? `${etag.slice(0, -1)}-${suffix}"` : `${etag}-${suffix}`;
}
