/**
 * @module The packed record a Redis key holds: one read returns everything a hit needs.
 *
 *   byte 0      format version (1); any other version reads as a miss, never as a crash
 *   byte 1      kind: 1 entry, 2 uncacheable marker, 3 alias (another key of the same object)
 *   bytes 2-5   length of the metadata JSON (uint32, big-endian)
 *   then        metadata JSON (UTF-8), then the body bytes
 */
import type { CachedRecord, EntryMeta } from './types.js';

export const FORMAT_VERSION = 1;
const KIND_ENTRY = 1;
const KIND_UNCACHEABLE = 2;
const KIND_ALIAS = 3;
const HEADER_BYTES = 6;

function pack(kind: number, meta: unknown, body?: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(meta), 'utf8');
  const head = Buffer.allocUnsafe(HEADER_BYTES);
  head[0] = FORMAT_VERSION;
  head[1] = kind;
  head.writeUInt32BE(json.length, 2);
  return body ? Buffer.concat([head, json, body]) : Buffer.concat([head, json]);
}

/** A key whose requests are served the bytes stored under another key of the same object. */
export interface AliasRecord {
  kind: 'alias';
  target: string;
  object: string;
}

export function encodeRecord(record: CachedRecord | AliasRecord): Buffer {
  if (record.kind === 'entry') return pack(KIND_ENTRY, record.meta, record.body);
  if (record.kind === 'alias') return pack(KIND_ALIAS, { target: record.target, object: record.object });
  return pack(KIND_UNCACHEABLE, { until: record.until, reason: record.reason });
}

/** Undefined for a record this version cannot read (wrong version, truncated, corrupt). */
export function decodeRecord(packed: Buffer): CachedRecord | AliasRecord | undefined {
  if (packed.length < HEADER_BYTES || packed[0] !== FORMAT_VERSION) return undefined;
  const metaLength = packed.readUInt32BE(2);
  const bodyStart = HEADER_BYTES + metaLength;
  if (bodyStart > packed.length) return undefined;
  let meta: unknown;
  try {
    meta = JSON.parse(packed.toString('utf8', HEADER_BYTES, bodyStart));
  } catch {
    return undefined;
  }
  if (typeof meta !== 'object' || meta === null) return undefined;
  if (packed[1] === KIND_ENTRY) {
    return { kind: 'entry', meta: meta as EntryMeta, body: packed.subarray(bodyStart) };
  }
  if (packed[1] === KIND_ALIAS) {
    const { target, object } = meta as { target: string; object: string };
    return { kind: 'alias', target, object };
  }
  if (packed[1] === KIND_UNCACHEABLE) {
    const { until, reason } = meta as { until: number; reason: string };
    return { kind: 'uncacheable', until, reason };
  }
  return undefined;
}
