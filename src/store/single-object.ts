/** An object of one representation, stored under its own id: the common case, and the old shape. */
import type { CachedEntry, EntryWrite } from './types.js';

export interface SingleWrite extends Omit<EntryWrite, 'object' | 'varyNames' | 'representations'> {
  entryKey: string;
  entry: CachedEntry;
}

export function singleObject({ entryKey, entry, ...rest }: SingleWrite): EntryWrite {
  return { ...rest, object: entryKey, varyNames: entry.meta.varyNames, representations: [{ key: entryKey, entry }] };
}
