/**
 * @module What a complete response becomes in the store. Text the service compresses (and anything
 * the origin compressed) is stored as up to three representations — identity, gzip, Brotli — each
 * under the variant key of the Accept-Encoding it serves, so a hit reads exactly the bytes it
 * sends, in one GET. Everything else is stored as it came, under a key whose clients can read it.
 *
 * Invariant (what keeps a client from ever getting a coding it cannot read): an entry stored under
 * Accept-Encoding value `c` is either identity or encoded in `c`.
 */
import { variantKey } from '../key/cache-key.js';
import { IMAGE_ACCEPT, varyValues } from '../key/vary.js';
import { parseCacheControl } from '../policy/cache-control.js';
import { mediaType, storedHeader } from '../store/entry-index.js';
import type { CachedEntry, EntryMeta } from '../store/types.js';
import {
  CODINGS,
  type Coding,
  compressible,
  declaredCoding,
  representationEtag,
  representations,
  sniffCoding,
} from '../transform/compress.js';
import { IMAGE_BUCKETS, type ImageBucket, OPTIMISABLE } from '../transform/images.js';
import type { RequestView } from './recv.js';

export interface PlannedWrite {
  entryKey: string;
  entry: CachedEntry;
}

/** An image stored as the origin sent it, to re-encode off the request path. */
export interface ImageJob {
  original: Buffer;
  meta: EntryMeta;
  /** The entry key of each Accept bucket (all hold the original until a smaller result replaces it). */
  keys: Record<ImageBucket, string>;
}

export interface Plan {
  writes: PlannedWrite[];
  image?: ImageJob;
}

const AE = 'accept-encoding';
const DECODABLE = new Set(['identity', 'gzip', 'x-gzip', 'deflate', 'br']);

/** The entries to write for a complete, storable response (none when it cannot be stored safely). */
export async function planWrites(view: RequestView, entryKey: string, meta: EntryMeta, body: Buffer): Promise<Plan> {
  const coding = declaredCoding(storedHeader(meta.headers, 'content-encoding'));
  const type = mediaType(storedHeader(meta.headers, 'content-type'));
  const noTransform = parseCacheControl(storedHeader(meta.headers, 'cache-control')).has('no-transform');
  const images = view.service.transform.images;
  if (
    images.enabled &&
    !noTransform &&
    coding === 'identity' &&
    meta.status === 200 &&
    OPTIMISABLE.has(type) &&
    !meta.varyNames.includes('accept') // an origin that negotiates formats itself is left to it
  ) {
    return imagePlan(view, meta, body);
  }
  return { writes: await textWrites(view, entryKey, meta, body, coding, type, noTransform) };
}

async function textWrites(
  view: RequestView,
  entryKey: string,
  meta: EntryMeta,
  body: Buffer,
  coding: string,
  type: string,
  noTransform: boolean,
): Promise<PlannedWrite[]> {
  const settings = view.service.transform.compress;
  const worthCompressing = compressible(type, settings.types) && body.length >= settings.minBytes;
  if (
    !settings.enabled ||
    noTransform ||
    (coding === 'identity' && !worthCompressing) ||
    !DECODABLE.has(coding) // nothing to derive from bytes the edge cannot read
  ) {
    return asIs(view, entryKey, meta, body, coding);
  }
  let made: Awaited<ReturnType<typeof representations>>;
  try {
    made = await representations(body, coding, settings, view.service.cache.maxObjectBytes);
  } catch {
    // Bytes that do not decode as they claim (or decode past the size limit) are not stored.
    return [];
  }
  if (made.identity.length < settings.minBytes && coding === 'identity')
    return asIs(view, entryKey, meta, body, coding);
  const names = meta.varyNames.includes(AE) ? meta.varyNames : [...meta.varyNames, AE].sort();
  const values = varyValues(names, view.headers, view.runtime.vary);
  const at = names.indexOf(AE);
  const originEtag = storedHeader(meta.headers, 'etag');
  return CODINGS.map((target) => {
    const bytes = target === 'identity' ? made.identity : made[target];
    // No smaller derived representation: clients of that coding get the identity bytes.
    const served: Coding = bytes === undefined ? 'identity' : target;
    const keyValues = [...values];
    keyValues[at] = target;
    return {
      entryKey: variantKey(view.primary, names, keyValues).hash,
      entry: {
        kind: 'entry',
        meta: {
          ...meta,
          headers: representationHeaders(meta.headers, {
            encoding: served,
            etag: representationEtag(originEtag, served),
            vary: 'Accept-Encoding',
          }),
          varyNames: names,
          variant: names.map((name, i) => [name, keyValues[i] ?? null]),
          ...(served !== 'identity' ? { coding: served } : {}),
          ...(served !== 'identity' && originEtag !== undefined ? { originEtag } : {}),
          identityBytes: made.identity.length,
        },
        body: bytes ?? made.identity,
      },
    };
  });
}

interface RepresentationChanges {
  /** Content-Encoding of the bytes ("identity": none). */
  encoding: string;
  etag: string | undefined;
  /** The request header the representation depends on, added to Vary. */
  vary: string;
  contentType?: string;
}

/** Headers of one representation: its Content-Encoding, type and ETag, and Vary naming what it depends on. */
export function representationHeaders(
  headers: readonly [string, string][],
  changes: RepresentationChanges,
): [string, string][] {
  const out: [string, string][] = [];
  let vary = '';
  for (const [name, value] of headers) {
    if (name === 'content-encoding' || name === 'content-length' || name === 'etag') continue;
    if (name === 'content-type' && changes.contentType !== undefined) continue;
    if (name === 'vary') vary = vary === '' ? value : `${vary}, ${value}`;
    else out.push([name, value]);
  }
  if (changes.encoding !== 'identity') out.push(['content-encoding', changes.encoding]);
  if (changes.contentType !== undefined) out.push(['content-type', changes.contentType]);
  if (changes.etag !== undefined) out.push(['etag', changes.etag]);
  const named = vary.split(',').map((n) => n.trim().toLowerCase());
  out.push([
    'vary',
    named.includes(changes.vary.toLowerCase()) ? vary : vary === '' ? changes.vary : `${vary}, ${changes.vary}`,
  ]);
  return out;
}

/**
 * An image: stored as it came under each Accept bucket's key (so every client is served at once,
 * and the origin is asked once), with the re-encoding left to the image queue.
 */
function imagePlan(view: RequestView, meta: EntryMeta, body: Buffer): Plan {
  const names = [...meta.varyNames, IMAGE_ACCEPT].sort();
  const values = varyValues(names, view.headers, view.runtime.vary);
  const at = names.indexOf(IMAGE_ACCEPT);
  const headers = representationHeaders(meta.headers, {
    encoding: 'identity',
    etag: storedHeader(meta.headers, 'etag'),
    vary: 'Accept',
  });
  const keys = {} as Record<ImageBucket, string>;
  const writes = IMAGE_BUCKETS.map((bucket) => {
    const keyValues = [...values];
    keyValues[at] = bucket;
    keys[bucket] = variantKey(view.primary, names, keyValues).hash;
    return {
      entryKey: keys[bucket],
      entry: {
        kind: 'entry' as const,
        meta: {
          ...meta,
          headers,
          varyNames: names,
          variant: names.map((n, i): [string, string | null] => [n, keyValues[i] ?? null]),
        },
        body,
      },
    };
  });
  return { writes, image: { original: body, meta: { ...meta, headers, varyNames: names }, keys } };
}

/**
 * Stored as it came. Under an Accept-Encoding key only where its clients can read it: an encoded
 * body moves to the key of its own coding (gzip or br), is marked with a coding the edge does not
 * key on (served only to clients that accept it), or is not stored (gzip
 * that is not gzip).
 */
function asIs(view: RequestView, entryKey: string, meta: EntryMeta, body: Buffer, coding: string): PlannedWrite[] {
  const entry: CachedEntry = { kind: 'entry', meta, body };
  if (coding === 'identity') return [{ entryKey, entry }];
  // A coding the edge does not deal in (zstd, deflate, compress…): kept as it came, and served
  // only to requests whose Accept-Encoding names it (see pipeline/lookup.ts).
  if (coding !== 'gzip' && coding !== 'br')
    return [{ entryKey, entry: { ...entry, meta: { ...meta, unknownCoding: coding } } }];
  if (coding === 'gzip' && sniffCoding(body.subarray(0, 2)) !== 'gzip') return [];
  const at = meta.varyNames.indexOf(AE);
  if (at === -1) return [];
  const values = varyValues(meta.varyNames, view.headers, view.runtime.vary);
  if (values[at] === coding) return [{ entryKey, entry }];
  values[at] = coding;
  return [
    {
      entryKey: variantKey(view.primary, meta.varyNames, values).hash,
      entry: { ...entry, meta: { ...meta, variant: meta.varyNames.map((n, i) => [n, values[i] ?? null]) } },
    },
  ];
}
