import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord, FORMAT_VERSION } from '../../../src/store/codec.js';
import type { CachedEntry } from '../../../src/store/types.js';

const entry: CachedEntry = {
  kind: 'entry',
  meta: {
    status: 200,
    headers: [
      ['content-type', 'text/plain'],
      ['x-multi', 'a'],
      ['x-multi', 'b'],
    ],
    responseTime: 1,
    storedAt: 1,
    initialAgeSeconds: 2,
    staleAt: 3,
    deleteAt: 4,
    varyNames: ['accept-encoding'],
    url: 'GET http://x/',
  },
  body: Buffer.from([0, 1, 2, 255, 10, 13]),
};

describe('record codec', () => {
  it('round-trips an entry, binary body included', () => {
    expect(decodeRecord(encodeRecord(entry))).toEqual(entry);
  });
  it('round-trips a hit-for-miss marker', () => {
    const marker = { kind: 'uncacheable', until: 5, reason: 'private' } as const;
    expect(decodeRecord(encodeRecord(marker))).toEqual(marker);
  });
  it('reads another format version, truncation or garbage as a miss, never a crash', () => {
    const packed = encodeRecord(entry);
    const otherVersion = Buffer.from(packed);
    otherVersion[0] = FORMAT_VERSION + 1;
    expect(decodeRecord(otherVersion)).toBeUndefined();
    expect(decodeRecord(packed.subarray(0, 10))).toBeUndefined();
    expect(decodeRecord(Buffer.from('not a record at all'))).toBeUndefined();
    expect(decodeRecord(Buffer.alloc(0))).toBeUndefined();
  });
});
