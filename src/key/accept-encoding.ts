/**
 * @module Accept-Encoding → the canonical set of codings the edge deals in (br, gzip), in a fixed
 * order, honouring q=0 (RFC 9110 §12.5.3). The same canonical value is what the origin receives,
 * so a stored response can never be in a coding that another client of its bucket cannot read.
 */
import { BoundedMemo } from '../bounded-memo.js';

/** Codings the edge keys on, in the order they are written. */
export const KEYED_CODINGS = ['br', 'gzip'] as const;
export type KeyedCoding = (typeof KEYED_CODINGS)[number];

/** The bucket of a request that accepts nothing but identity (or sent no header at all). */
export const IDENTITY_BUCKET = 'identity';

/** Real traffic has a handful of distinct spellings; the budget keeps hostile ones from growing it. */
const bucketCache = new BoundedMemo<string>(256 * 1024, () => 0);

/**
 * Canonical bucket: "br,gzip", "br", "gzip" or "identity". A missing header is treated as identity:
 * RFC 9110 allows any coding then, but clients that omit the header (curl, scripts) expect plain bytes.
 */
export function acceptEncodingBucket(header: string | undefined): string {
  if (!header) return IDENTITY_BUCKET;
  const cached = bucketCache.get(header);
  if (cached !== undefined) return cached;
  const bucket = computeBucket(header);
  bucketCache.set(header, bucket);
  return bucket;
}

/** The q-value of each coding a request names (first mention wins; x-gzip is gzip). */
function weights(header: string): Map<string, number> {
  const q = new Map<string, number>();
  for (const item of header.split(',')) {
    const [rawName, ...params] = item.split(';');
    let name = (rawName ?? '').trim().toLowerCase();
    if (name === '') continue;
    if (name === 'x-gzip') name = 'gzip';
    let weight = 1;
    for (const param of params) {
      const [k, v] = param.split('=').map((s) => s.trim().toLowerCase());
      if (k === 'q') {
        const parsed = Number(v);
        weight = Number.isFinite(parsed) && parsed >= 0 && parsed <= 1 ? parsed : 0;
      }
    }
    // The first mention of a coding wins, as with any repeated list member.
    if (!q.has(name)) q.set(name, weight);
  }
  return q;
}

function computeBucket(header: string): string {
  const q = weights(header);
  const star = q.get('*');
  const accepted = KEYED_CODINGS.filter((coding) => {
    const weight = q.get(coding) ?? star;
    return weight !== undefined && weight > 0;
  });
  return accepted.length === 0 ? IDENTITY_BUCKET : accepted.join(',');
}

/** Does a request accept a content-coding (named with q > 0, or through "*")? RFC 9110 §12.5.3. */
export function acceptsCoding(header: string | string[] | undefined, coding: string): boolean {
  if (header === undefined) return false;
  const q = weights(Array.isArray(header) ? header.join(',') : header);
  const weight = q.get(coding.toLowerCase()) ?? q.get('*');
  return weight !== undefined && weight > 0;
}

/**
 * What the key records of Accept-Encoding: the coding a client of the bucket is served from the
 * store — br when it accepts br, else gzip, else identity. Stored entries keep to it (an entry under
 * `c` is identity or `c`; see pipeline/representations.ts), so buckets that would be served alike
 * share one entry.
 */
export function servedCoding(bucket: string): 'br' | 'gzip' | 'identity' {
  // `br` means "reads br and gzip" (every browser): such clients can share gzip bytes too, so an
  // origin that only gzips fills their key. A client that reads br but not gzip is rare enough to
  // be served as identity rather than split every browser's key.
  if (bucket === 'br,gzip') return 'br';
  if (bucket.includes('gzip')) return 'gzip';
  return 'identity';
}

/**
 * The Accept-Encoding sent to the origin for a key value: only codings every client of the key
 * reads, so whatever the origin sends can be stored under it.
 */
export function originAcceptEncoding(served: 'br' | 'gzip' | 'identity'): string {
  return served === 'br' ? 'br, gzip' : served;
}
