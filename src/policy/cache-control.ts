/**
 * @module Cache-Control parsing (RFC 9111 §5.2). Directive names are case-insensitive; arguments may
 * be tokens or quoted strings (RFC 9110 §5.6.4); a repeated directive keeps its first occurrence
 * (RFC 9111 §4.2.1 allows either the first or treating the response as stale).
 */

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

/**
 * RFC 9213 §2.2: the first targeted field with a non-empty value decides the edge's caching, and
 * Cache-Control and Expires are then ignored; otherwise Cache-Control decides.
 */
export function responsePolicy(headers: Record<string, string | string[] | undefined>): ResponsePolicy {
  for (const field of TARGETED_FIELDS) {
    const value = headers[field];
    if (value === undefined) continue;
    const directives = parseCacheControl(value);
    if (directives.size > 0) return { directives, source: field };
  }
  return { directives: parseCacheControl(headers['cache-control']), source: 'cache-control' };
}
