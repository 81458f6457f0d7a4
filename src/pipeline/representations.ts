/**
 * @module What a complete response becomes in the store: one object — counted once against the
 * object cap, listed and purged as one — holding the representations the edge serves of it, each
 * under the variant key of the requests it serves, so a hit reads exactly the bytes it sends.
 *
 * - Text the service compresses (and anything the origin compressed) gets identity, gzip and Brotli
 *   representations under the Accept-Encoding key values `identity`, `gzip` and `br`. A key whose
 *   best bytes are another key's points at them (an alias) rather than storing them twice.
 * - With compression off, an origin's gzip or Brotli body is kept as it came for the clients that
 *   read it, and decoded once for those that do not: every Accept-Encoding bucket is filled by one
 *   origin fetch, compression on or off.
 * - A response that has one representation for everyone (identity, or nothing smaller could be
 *   made, or an image not yet optimised) is stored once, under a key without the edge's dimension,
 *   and serves every client.
 *
 * Invariant (what keeps a client from ever getting a coding it cannot read): an entry stored under
 * Accept-Encoding value `c` is identity, or encoded in a coding every client of `c` accepts (`br`:
 * clients that accept both br and gzip; `gzip`: gzip).
 */
import { variantKey } from '../key/cache-key.js';
import { IMAGE_ACCEPT, varyValues } from '../key/vary.js';
import { parseCacheControl } from '../policy/cache-control.js';
import { mediaType, REPRESENTATION_DIMENSIONS, storedHeader } from '../store/entry-index.js';
import type { CachedEntry, EntryMeta, Representation } from '../store/types.js';
import {
  compressible,
  declaredCoding,
  decode,
  encode,
  representationEtag,
  sniffCoding,
} from '../transform/compress.js';
import { IMAGE_BUCKETS, OPTIMISABLE } from '../transform/images.js';
import type { RequestView } from './recv.js';

/** An object to store: its id, the URL's Vary names, its keys. */
export interface ObjectPlan {
  object: string;
  varyNames: string[];
  representations: Representation[];
}

/**
 * An image stored as the origin sent it, to re-encode off the request path. Plain data, so it can
 * go to the node's image worker process; that one reads the original from the store.
 */
export interface ImageJob {
  service: string;
  primaryKey: string;
  /** The readable URL, for the logs. */
  url: string;
  /** The object it is stored as (one key, every client) until a smaller result replaces it. */
  object: string;
  /** When the original was stored: a job for an original purged or replaced since does nothing. */
  storedAt: number;
  /** The object's Vary names with the edge's image dimension. */
  names: string[];
  /** Each Accept bucket's key and variant. */
  buckets: { bucket: string; key: string; variant: [string, string | null][] }[];
  /** The original's bytes, when the job stays in this process. */
  original?: Buffer;
}

export interface Plan {
  /** Undefined when the response cannot be stored safely (bytes that do not decode as they claim). */
  write: ObjectPlan | undefined;
  image?: ImageJob;
}

const AE = 'accept-encoding';
const DECODABLE = new Set(['gzip', 'x-gzip', 'deflate', 'br']);

/** The object a response is for: its key without the edge's own dimensions. */
function objectOf(view: RequestView, meta: EntryMeta): { object: string; names: string[] } {
  const names = meta.varyNames.filter((name) => !REPRESENTATION_DIMENSIONS.has(name));
  return { object: variantKey(view.primary, names, varyValues(names, view.headers, view.runtime.vary)).hash, names };
}

/** One representation for everyone: stored once, under the object's own key. */
function single(object: string, names: string[], meta: EntryMeta, body: Buffer): ObjectPlan {
  const entry: CachedEntry = {
    kind: 'entry',
    meta: { ...meta, varyNames: names, variant: (meta.variant ?? []).filter(([n]) => names.includes(n)) },
    body,
  };
  return { object, varyNames: names, representations: [{ key: object, entry }] };
}

/**
 * A large body stored as the origin sent it, in chunks (store-writer.ts): one representation, under
 * the object's own key. A content-coding is kept as sent and served only to clients accepting it.
 */
export function storedAsSent(view: RequestView, meta: EntryMeta): ObjectPlan {
  const { object, names } = objectOf(view, meta);
  const coding = declaredCoding(storedHeader(meta.headers, 'content-encoding'));
  return single(object, names, coding === 'identity' ? meta : { ...meta, unknownCoding: coding }, EMPTY);
}

const EMPTY = Buffer.alloc(0);

/** The objects to write for a complete, storable response. */
export async function planWrites(view: RequestView, entryKey: string, meta: EntryMeta, body: Buffer): Promise<Plan> {
  const coding = declaredCoding(storedHeader(meta.headers, 'content-encoding'));
  const type = mediaType(storedHeader(meta.headers, 'content-type'));
  const noTransform = parseCacheControl(storedHeader(meta.headers, 'cache-control')).has('no-transform');
  const { object, names } = objectOf(view, meta);
  const images = view.service.transform.images;
  if (
    images.enabled &&
    !noTransform &&
    coding === 'identity' &&
    meta.status === 200 &&
    OPTIMISABLE.has(type) &&
    !meta.varyNames.includes('accept') // an origin that negotiates formats itself is left to it
  ) {
    // Stored once for every client now; the image queue replaces it with smaller formats later.
    return { write: single(object, names, meta, body), image: imageJob(view, object, names, meta, body) };
  }
  return { write: await textPlan(view, entryKey, object, names, meta, body, coding, type, noTransform) };
}

async function textPlan(
  view: RequestView,
  entryKey: string,
  object: string,
  names: string[],
  meta: EntryMeta,
  body: Buffer,
  coding: string,
  type: string,
  noTransform: boolean,
): Promise<ObjectPlan | undefined> {
  const settings = view.service.transform.compress;
  if (coding === 'identity') {
    if (!settings.enabled || noTransform || !compressible(type, settings.types) || body.length < settings.minBytes) {
      return single(object, names, meta, body);
    }
    const gzip = await smaller(encode(body, 'gzip', settings), body);
    const br = await smaller(encode(body, 'br', settings), body);
    return encodedPlan(view, object, names, meta, body, { gzip, br });
  }
  if (coding === 'gzip' || coding === 'br') {
    // A lying header (gzip that is not gzip) was caught on the first chunk; check again whole.
    if (coding === 'gzip' && sniffCoding(body.subarray(0, 2)) !== 'gzip') return undefined;
    // no-transform: the origin's bytes, for the clients that read them, and nothing for the rest.
    if (noTransform) return asSent(view, object, names, meta, body, coding);
  }
  if (!DECODABLE.has(coding) || (coding === 'deflate' && (!settings.enabled || noTransform))) {
    // A coding the edge does not make (zstd, compress…): kept as it came, under the fill's own key,
    // and served only to requests whose Accept-Encoding names it (see pipeline/lookup.ts).
    const entry: CachedEntry = { kind: 'entry', meta: { ...meta, unknownCoding: coding }, body };
    return { object, varyNames: meta.varyNames, representations: [{ key: entryKey, entry }] };
  }
  let identity: Buffer;
  try {
    identity = await decode(body, coding, view.service.cache.maxObjectBytes);
  } catch {
    // Bytes that do not decode as they claim (or decode past the size limit) are not stored.
    return undefined;
  }
  const own = coding === 'x-gzip' ? 'gzip' : coding;
  const keep = (target: 'gzip' | 'br') =>
    own === target
      ? Promise.resolve(body.length < identity.length ? body : undefined)
      : settings.enabled
        ? smaller(encode(identity, target, settings), identity)
        : Promise.resolve(undefined);
  const gzip = await keep('gzip');
  const br = await keep('br');
  return encodedPlan(view, object, names, meta, identity, { gzip, br });
}

async function smaller(made: Promise<Buffer>, than: Buffer): Promise<Buffer | undefined> {
  const bytes = await made;
  return bytes.length < than.length ? bytes : undefined;
}

/** The key of one Accept-Encoding value for the object. */
function aeKeys(view: RequestView, names: string[]) {
  const all = [...names, AE].sort();
  const values = varyValues(all, view.headers, view.runtime.vary);
  const at = all.indexOf(AE);
  return {
    names: all,
    keyFor(value: 'identity' | 'gzip' | 'br') {
      const keyValues = [...values];
      keyValues[at] = value;
      return {
        key: variantKey(view.primary, all, keyValues).hash,
        variant: all.map((n, i): [string, string | null] => [n, keyValues[i] ?? null]),
      };
    },
  };
}

/**
 * Identity plus whichever of gzip and Brotli came out smaller: each Accept-Encoding key gets the
 * best bytes its clients read — `br` (clients accepting br and gzip) Brotli, else gzip; `gzip`
 * gzip; `identity` identity — and a key whose best bytes live under another key points at them.
 */
function encodedPlan(
  view: RequestView,
  object: string,
  names: string[],
  meta: EntryMeta,
  identity: Buffer,
  made: { gzip: Buffer | undefined; br: Buffer | undefined },
): ObjectPlan {
  const base = { ...meta, identityBytes: identity.length };
  if (!made.gzip && !made.br) {
    const headers = meta.headers.filter(([name]) => name !== 'content-encoding' && name !== 'content-length');
    return single(object, names, { ...base, headers }, identity);
  }
  const keys = aeKeys(view, names);
  const originEtag = storedHeader(meta.headers, 'etag');
  const entry = (value: 'identity' | 'gzip' | 'br', coding: 'identity' | 'gzip' | 'br', body: Buffer) => {
    const { key, variant } = keys.keyFor(value);
    const representation: Representation = {
      key,
      entry: {
        kind: 'entry',
        meta: {
          ...base,
          headers: representationHeaders(meta.headers, {
            encoding: coding,
            etag: representationEtag(originEtag, coding),
            vary: 'Accept-Encoding',
          }),
          varyNames: keys.names,
          variant,
          ...(coding !== 'identity' ? { coding } : {}),
          ...(coding !== 'identity' && originEtag !== undefined ? { originEtag } : {}),
        },
        body,
      },
    };
    return representation;
  };
  const alias = (value: 'identity' | 'gzip' | 'br', of: Representation): Representation => ({
    key: keys.keyFor(value).key,
    aliasOf: of.key,
  });
  const plain = entry('identity', 'identity', identity);
  const representations: Representation[] = [plain];
  if (made.br) {
    const br = entry('br', 'br', made.br);
    representations.push(br, made.gzip ? entry('gzip', 'gzip', made.gzip) : alias('gzip', plain));
  } else {
    // Browsers (the `br` key: they read gzip too) get the gzip bytes in one read; gzip-only
    // clients reach them through an alias.
    const gzip = entry('br', 'gzip', made.gzip as Buffer);
    representations.push(gzip, alias('gzip', gzip));
  }
  return { object, varyNames: keys.names, representations };
}

/**
 * An origin's gzip or Brotli body under no-transform: as it came, for the clients that read it —
 * `br` (they read both) and, for gzip, `gzip`. Identity clients get nothing from it.
 */
function asSent(
  view: RequestView,
  object: string,
  names: string[],
  meta: EntryMeta,
  body: Buffer,
  coding: 'gzip' | 'br',
): ObjectPlan {
  const keys = aeKeys(view, names);
  const { key, variant } = keys.keyFor('br');
  const sent: Representation = {
    key,
    entry: { kind: 'entry', meta: { ...meta, varyNames: keys.names, variant }, body },
  };
  const representations: Representation[] = [sent];
  if (coding === 'gzip') representations.push({ key: keys.keyFor('gzip').key, aliasOf: key });
  return { object, varyNames: keys.names, representations };
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

/** The job for an image: the keys of its Accept buckets (its names plus the edge's image dimension). */
function imageJob(view: RequestView, object: string, names: string[], meta: EntryMeta, original: Buffer): ImageJob {
  const all = [...names, IMAGE_ACCEPT].sort();
  const values = varyValues(all, view.headers, view.runtime.vary);
  const at = all.indexOf(IMAGE_ACCEPT);
  const buckets = IMAGE_BUCKETS.map((bucket) => {
    const keyValues = [...values];
    keyValues[at] = bucket;
    return {
      bucket,
      key: variantKey(view.primary, all, keyValues).hash,
      variant: all.map((n, i): [string, string | null] => [n, keyValues[i] ?? null]),
    };
  });
  return {
    service: view.service.id,
    primaryKey: view.primary.hash,
    url: view.primary.readable,
    object,
    storedAt: meta.storedAt,
    names: all,
    buckets,
    original,
  };
}
