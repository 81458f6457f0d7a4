/**
 * @module What a record held in process memory really costs (the L1's and the embedded store's
 * byte budget): its body, its strings at two bytes a character, and a fixed overhead, with bodies
 * copied out of larger allocations so that keeping one keeps only its own bytes.
 */
import type { CachedRecord } from './types.js';

// Fixed cost of a record besides its body and its strings: the record, meta and slot objects, the
// Buffer's wrappers, the map slot and key. Measured: a record of a 1 KiB body with six headers
// costs about 4 KiB of heap and ArrayBuffers in all (test/unit/store/l1-bytes.test.ts holds the
// estimate to what V8 really uses).
export const RECORD_OVERHEAD = 2048;

/**
 * The bytes a record really keeps alive: its body, its metadata's strings (two bytes a character
 * in V8) and a fixed overhead. Its body must be its own allocation (see ownBody): a slice of a
 * larger buffer would keep the whole of that alive, uncounted.
 */
export function recordBytes(record: CachedRecord): number {
  if (record.kind !== 'entry') return RECORD_OVERHEAD;
  const { meta, body } = record;
  let strings = meta.url.length + (meta.path?.length ?? 0);
  // Each header is a two-element array of its own besides its two strings.
  for (const [name, value] of meta.headers) strings += name.length + value.length + 32;
  for (const tag of meta.tags ?? []) strings += tag.length + 8;
  return body.length + 2 * strings + RECORD_OVERHEAD;
}

/**
 * A body the store may keep: a Buffer that is a slice of a larger one (a Redis reply is a slice of
 * the socket's read chunk; small Buffers are slices of Node's 8 KiB pool) is copied into an
 * allocation of its own, so keeping it keeps only its own bytes.
 */
export function ownBody(body: Buffer): Buffer {
  if (body.byteOffset === 0 && body.buffer.byteLength === body.length) return body;
  const own = Buffer.allocUnsafeSlow(body.length);
  body.copy(own);
  return own;
}

/** The same record with a body of its own (see ownBody). */
export function owned<R extends CachedRecord>(record: R): R {
  if (record.kind !== 'entry') return record;
  const body = ownBody(record.body);
  return body === record.body ? record : { ...record, body };
}
