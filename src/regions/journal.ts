/**
 * @module A region's journal as other regions read it: every fill and every purge of a key space,
 * appended by the same script that makes the change (lua/storeKeys-9.lua, lua/markPurge-4.lua) to
 * the stream `cf:{svc}:journal`. Records come from another deployment's Redis, so each is checked
 * on the way in; one that does not parse is reported, never guessed at.
 */
import { z } from 'zod';
import type { EntryFilter } from '../store/entry-index.js';
import type { PurgeScope } from '../store/types.js';

/** A stream id, `<ms>-<seq>`. */
const streamId = /^\d+-\d+$/;

/** Is stream id `a` before stream id `b`? */
export function idBefore(a: string, b: string): boolean {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am < bm || (am === bm && as < bs);
}

/** The time a stream id was made (ms). */
export function idTime(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

const fillDetail = z.object({
  object: z.string().min(1),
  primary: z.string().min(1),
  url: z.string(),
  at: z.number(),
});

const purgeSelector = z.union([
  z.object({ primary: z.string().min(1), url: z.string().optional() }),
  z.object({ filter: z.record(z.string(), z.unknown()) }),
  z.object({}),
]);

export interface FillRecord {
  kind: 'fill';
  id: string;
  region: string;
  /** The URL's purge counter in its region when stored. */
  generation: number;
  object: string;
  primary: string;
  url: string;
  at: number;
  /** What the filling region had applied of other journals: "<region>/<space>" → position. */
  known: Map<string, string>;
}

export interface PurgeRecord {
  kind: 'purge';
  id: string;
  region: string;
  /** The purge's counter (the URL's, or the key space's) after it. */
  generation: number;
  scope: PurgeScope;
  soft: boolean;
  at: number;
}

export type JournalRecord = FillRecord | PurgeRecord;

/** A stream entry's fields, as XRANGE/XREADGROUP return them. */
function fieldsOf(flat: readonly string[]): Map<string, string> {
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i] as string, flat[i + 1] as string);
  return fields;
}

/** Parses one journal entry; throws with what is wrong when it is not a record of ours. */
export function parseRecord(id: string, flat: readonly string[]): JournalRecord {
  if (!streamId.test(id)) throw new Error(`journal entry id "${id}" is not a stream id`);
  const fields = fieldsOf(flat);
  const region = fields.get('r');
  if (!region) throw new Error(`journal entry ${id} names no region`);
  const generation = Number(fields.get('g') ?? Number.NaN);
  if (!Number.isInteger(generation)) throw new Error(`journal entry ${id} has no generation`);
  const kind = fields.get('t');
  if (kind === 'f') {
    const detail = fillDetail.parse(JSON.parse(fields.get('d') ?? 'null'));
    const known = new Map<string, string>();
    for (const pair of (fields.get('c') ?? '').split(',')) {
      const at = pair.indexOf('=');
      if (at > 0 && streamId.test(pair.slice(at + 1))) known.set(pair.slice(0, at), pair.slice(at + 1));
    }
    return { kind: 'fill', id, region, generation, ...detail, known };
  }
  if (kind === 'p') {
    const at = Number(fields.get('at'));
    const selector = purgeSelector.parse(JSON.parse(fields.get('x') ?? 'null'));
    const scopeKind = fields.get('k');
    let scope: PurgeScope;
    if (scopeKind === 'url' && 'primary' in selector) {
      scope = { kind: 'url', primaryKey: selector.primary, ...(selector.url ? { url: selector.url } : {}) };
    } else if (scopeKind === 'filter' && 'filter' in selector) {
      scope = { kind: 'filter', filter: selector.filter as EntryFilter };
    } else if (scopeKind === 'all') scope = { kind: 'all' };
    else throw new Error(`journal entry ${id} is a purge of an unknown kind "${scopeKind}"`);
    return { kind: 'purge', id, region, generation, scope, soft: fields.get('s') === '1', at };
  }
  throw new Error(`journal entry ${id} is of an unknown type "${kind}"`);
}
