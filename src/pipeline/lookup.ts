/**
 * @module LOOKUP: find the stored variant for a request in one store read. The variant key depends
 * on the URL's Vary names, which live in the store too; each node remembers the names it has seen
 * per URL, so a hit costs one read. Only a miss (or the first request for a varying URL on a node)
 * reads the names and, when they differ from the guess, the variant they select.
 */

import { BoundedMemo } from '../bounded-memo.js';
import { acceptsCoding } from '../key/accept-encoding.js';
import { type PrimaryKey, variantKey } from '../key/cache-key.js';
import { varyValues } from '../key/vary.js';
import { StoreTimeout } from '../store/read-deadline.js';
import type { CachedEntry, CachedRecord, CacheStore, PurgeGuard } from '../store/types.js';
import type { RequestView } from './recv.js';

export type LookupResult =
  | {
      kind: 'hit';
      entry: CachedEntry;
      entryKey: string;
      names: readonly string[];
      readable: string;
      guard?: PurgeGuard | undefined;
    }
  | { kind: 'uncacheable'; entryKey: string; names: readonly string[]; reason: string; guard?: PurgeGuard | undefined }
  | {
      kind: 'miss';
      entryKey: string;
      names: readonly string[];
      readable: string;
      varyMiss: boolean;
      /** The store could not be asked: what may well be stored is fetched (coalesced) anyway. */
      failure?: StoreFailure;
      /** The purge counters read with the lookup (PurgeGuard): the fill stores only if none moved. */
      guard?: PurgeGuard | undefined;
    };

/** Why a lookup could not read the store: too slow (the read deadline passed), or an error. */
export type StoreFailure = 'store-timeout' | 'store-error';

export function storeFailure(error: unknown): StoreFailure {
  return error instanceof StoreTimeout ? 'store-timeout' : 'store-error';
}

/** The Vary memo's budget per process (docs/operations.md, "Memory budget"). */
export const VARY_MEMO_BYTES = 4 * 1024 * 1024;

/** Bounded memory (in bytes) of each URL's Vary names on this node. */
export class VaryMemo {
  private readonly memo: BoundedMemo<readonly string[]>;

  constructor(maxBytes = VARY_MEMO_BYTES) {
    this.memo = new BoundedMemo(maxBytes, (names) => names.reduce((n, name) => n + 2 * name.length + 16, 32));
  }

  get(service: string, primary: PrimaryKey): readonly string[] {
    return this.memo.get(`${service}\n${primary.hash}`) ?? NONE;
  }

  set(service: string, primary: PrimaryKey, names: readonly string[]): void {
    const id = `${service}\n${primary.hash}`;
    if (names.length === 0) this.memo.delete(id);
    else this.memo.set(id, names);
  }

  get bytes(): number {
    return this.memo.bytes;
  }

  get maxBytes(): number {
    return this.memo.maxBytes;
  }
}

const NONE: readonly string[] = [];

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((name, i) => name === b[i]);
}

/**
 * What a miss looks like when the store cannot be asked (Redis down or slow): the node's best guess
 * of the variant, so the request still reaches the origin through the coalescer.
 */
export function unknownVariant(view: RequestView, memo: VaryMemo, failure: StoreFailure): LookupResult {
  const names = memo.get(view.service.id, view.primary);
  const variant = variantKey(view.primary, names, varyValues(names, view.headers, view.runtime.vary));
  return {
    kind: 'miss',
    entryKey: variant.hash,
    names,
    readable: variant.readable,
    varyMiss: false,
    failure,
    guard: undefined,
  };
}

/** The variant key of a request under the URL's Vary names. */
type Variant = ReturnType<typeof variantKey>;

/**
 * LOOKUP answered from this node's memory (the L1, the embedded store), in the turn the request
 * arrived: no promise, no microtask. Undefined when the shared store must be asked (`lookup`).
 */
export function lookupLocal(
  view: RequestView,
  store: CacheStore,
  memo: VaryMemo,
  now: number,
): LookupResult | undefined {
  if (!store.findLocal) return undefined;
  const names = memo.get(view.service.id, view.primary);
  const variant = variantKey(view.primary, names, varyValues(names, view.headers, view.runtime.vary));
  const found = store.findLocal(view.service.id, variant.hash, view.primary.hash, now);
  return found?.record ? fromRecord(view, memo, variant, names, found.record, found.guard) : undefined;
}

export async function lookup(view: RequestView, store: CacheStore, memo: VaryMemo, now: number): Promise<LookupResult> {
  const service = view.service.id;
  let names = memo.get(service, view.primary);
  let variant = variantKey(view.primary, names, varyValues(names, view.headers, view.runtime.vary));
  const found = await store.find(service, variant.hash, view.primary.hash, now);
  let record: CachedRecord | undefined;
  if (found.record) record = found.record;
  else {
    const stored = found.vary;
    if (stored !== undefined && !sameNames(stored, names)) {
      names = stored;
      memo.set(service, view.primary, names);
      variant = variantKey(view.primary, names, varyValues(names, view.headers, view.runtime.vary));
      record = await store.get(service, variant.hash, now);
    }
    if (record === undefined) {
      // Other variants of the URL exist when its Vary names are known (RFC 9211 fwd=vary-miss).
      return {
        kind: 'miss',
        entryKey: variant.hash,
        names,
        readable: variant.readable,
        varyMiss: stored !== undefined && stored.length > 0,
        guard: found.guard,
      };
    }
  }
  return fromRecord(view, memo, variant, names, record, found.guard);
}

/** What a stored record means for this request. */
function fromRecord(
  view: RequestView,
  memo: VaryMemo,
  variant: Variant,
  names: readonly string[],
  record: CachedRecord,
  guard: PurgeGuard | undefined,
): LookupResult {
  if (record.kind === 'uncacheable') {
    return { kind: 'uncacheable', entryKey: variant.hash, names, reason: record.reason, guard };
  }
  if (!sameNames(record.meta.varyNames, names)) memo.set(view.service.id, view.primary, record.meta.varyNames);
  const coding = record.meta.unknownCoding;
  if (coding !== undefined && !acceptsCoding(view.headers['accept-encoding'], coding)) {
    // Stored in a coding this client cannot read: for it, the response is not stored.
    return { kind: 'miss', entryKey: variant.hash, names, readable: variant.readable, varyMiss: true, guard };
  }
  return { kind: 'hit', entry: record, entryKey: variant.hash, names, readable: variant.readable, guard };
}
