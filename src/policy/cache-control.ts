/**
 * @module Cache-Control parsing (RFC 9111 §5.2). Directive names are case-insensitive; arguments may
 * be tokens or quoted strings (RFC 9110 §5.6.4); a repeated directive keeps its first occurrence
 * (RFC 9111 §4.2.1 allows either the first or treating the response as stale).
 */
import { parseDictionary } from './structured-field.js';

export type Directives = ReadonlyMap<string, string | true>;

const EMPTY: Directives = new Map();

/** Splits on commas outside quoted strings. */
function splitList(value: string): string[] {
  if (!value.includes('"')) return value.split(',');
  const items: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    if (ch === '\\' && quoted) {
      current += ch + (value[i + 1] ?? '');
      i++;
    } else if (ch === '"') {
      quoted = !quoted;
      current += ch;
    } else if (ch === ',' && !quoted) {
      items.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  items.push(current);
  return items;
}

function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    return value.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return value;
}

/** Parses one or more Cache-Control field lines into a directive map. */
export function parseCacheControl(header: string | readonly string[] | undefined): Directives {
  if (header === undefined || header === '') return EMPTY;
  const directives = new Map<string, string | true>();
  const lines = typeof header === 'string' ? [header] : header;
  for (const line of lines) {
    for (const item of splitList(line)) {
      const eq = item.indexOf('=');
      const name = (eq === -1 ? item : item.slice(0, eq)).trim().toLowerCase();
      if (name === '' || directives.has(name)) continue;
      directives.set(name, eq === -1 ? true : unquote(item.slice(eq + 1).trim()));
    }
  }
  return directives;
}

/** Largest delta-seconds a cache must handle (RFC 9111 §1.2.2). */
export const MAX_DELTA_SECONDS = 2_147_483_648;

/**
 * A delta-seconds argument. Undefined when the directive is absent; 0 when it is present but
 * malformed, so a broken directive can only make a response less fresh, never more.
 */
export function deltaSeconds(directives: Directives, name: string): number | undefined {
  const value = directives.get(name);
  if (value === undefined) return undefined;
  if (value === true || !/^\d+$/.test(value)) return 0;
  return Math.min(Number(value), MAX_DELTA_SECONDS);
}

/** RFC 9213 targeted fields the edge obeys, in precedence order, before Cache-Control. */
export const TARGETED_FIELDS = ['cdn-cache-control', 'surrogate-control'] as const;

export interface ResponsePolicy {
  directives: Directives;
  /** Which field the directives came from. */
  source: (typeof TARGETED_FIELDS)[number] | 'cache-control';
}

/** Directives whose value is a number of seconds: in a targeted field, a non-negative Integer. */
const DELTA_SECONDS = new Set(['max-age', 's-maxage', 'stale-while-revalidate', 'stale-if-error']);

/**
 * A targeted field's directives (RFC 9213 §2.1): a Dictionary Structured Field, ignored as a whole
 * (undefined) when it does not parse, or when a delta-seconds directive has a value of another
 * type or a negative one (`max-age="60"`, `max-age=1.5`, a bare `max-age`): a field the edge cannot
 * read as its author meant is not half-read. Otherwise a String carries a field-name list, true a
 * flag; a Boolean false reads as absent.
 */
export function parseTargetedField(value: string | readonly string[]): Directives | undefined {
  const dictionary = parseDictionary(value);
  if (dictionary === undefined) return undefined;
  const directives = new Map<string, string | true>();
  for (const [name, item] of dictionary) {
    if (DELTA_SECONDS.has(name)) {
      if (item.type !== 'integer' || item.value < 0) return undefined;
      directives.set(name, String(item.value));
    } else if (item.type === 'boolean') {
      if (item.value) directives.set(name, true);
    } else if (item.type === 'integer') {
      if (item.value >= 0) directives.set(name, String(item.value));
    } else if (item.type === 'string' || item.type === 'token') {
      directives.set(name, item.value);
    }
  }
  return directives;
}

/**
 * RFC 9213 §2.2: the first targeted field with a non-empty, valid value decides the edge's caching,
 * and Cache-Control and Expires are then ignored; otherwise Cache-Control decides. A targeted field
 * that is not a valid Dictionary is ignored as if absent (§2.1).
 */
export function responsePolicy(headers: Record<string, string | string[] | undefined>): ResponsePolicy {
  for (const field of TARGETED_FIELDS) {
    const value = headers[field];
    if (value === undefined || value === '') continue;
    const directives = parseTargetedField(value);
    if (directives !== undefined && directives.size > 0) return { directives, source: field };
  }
  return { directives: parseCacheControl(headers['cache-control']), source: 'cache-control' };
}
