/**
 * @module Request-target normalisation shared by the cache key and the origin request, so both
 * always see the same bytes: percent-encodings made canonical (RFC 3986 §6.2.2), query parameters
 * filtered and sorted. Nothing here decodes a reserved character or resolves dot segments.
 */

export interface QueryRules {
  /** Parameter-name globs to remove. */
  drop: readonly string[];
  /** When present, only parameters matching one of these globs survive. */
  keepOnly?: readonly string[] | undefined;
}

export interface CompiledQueryRules {
  drop: RegExp | undefined;
  keepOnly: RegExp | undefined;
}

/** `utm_*` → /^utm_.*$/ ; `?` matches one character; everything else is literal. */
export function compileGlobs(globs: readonly string[] | undefined): RegExp | undefined {
  if (!globs || globs.length === 0) return undefined;
  const alternatives = globs.map((glob) =>
    glob
      .split('')
      .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join(''),
  );
  return new RegExp(`^(?:${alternatives.join('|')})$`);
}

export function compileQueryRules(rules: QueryRules): CompiledQueryRules {
  return { drop: compileGlobs(rules.drop), keepOnly: compileGlobs(rules.keepOnly) };
}

const HEX = '0123456789ABCDEF';
// RFC 3986 §2.3 unreserved characters: percent-encoding them never changes meaning.
const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * Canonical percent-encoding for one path or query component: hex digits upper-cased, encoded
 * unreserved characters decoded, and bytes that may not appear raw (controls, space, non-ASCII,
 * and delimiters outside `allowed`) encoded. Returns undefined for a malformed `%` escape.
 */
function canonicalEncoding(input: string, allowed: RegExp): string | undefined {
  let out = '';
  let plainFrom = 0;
  for (let i = 0; i < input.length; i++) {
    const ch = input[i] as string;
    if (ch === '%') {
      const hex = input.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      const decoded = String.fromCharCode(Number.parseInt(hex, 16));
      out += input.slice(plainFrom, i) + (UNRESERVED.test(decoded) ? decoded : `%${hex.toUpperCase()}`);
      i += 2;
      plainFrom = i + 1;
    } else if (!allowed.test(ch)) {
      out += input.slice(plainFrom, i);
      for (const byte of Buffer.from(ch, 'utf8')) out += `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
      plainFrom = i + 1;
    }
  }
  return plainFrom === 0 ? input : out + input.slice(plainFrom);
}

// RFC 3986 pchar plus "/" for paths; query adds "?" and keeps "&" / "=" as the edge splits on them.
const PATH_CHAR = /[A-Za-z0-9\-._~!$&'()*+,;=:@/]/;
const QUERY_CHAR = /[A-Za-z0-9\-._~!$&'()*+,;=:@/?]/;
const FAST_PATH = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;

export function normalisePath(path: string): string | undefined {
  if (!path.startsWith('/')) return undefined;
  // Most paths have nothing to rewrite; skip the character walk for them.
  if (FAST_PATH.test(path)) return path;
  return canonicalEncoding(path, PATH_CHAR);
}

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

/**
 * Splits on "&", drops empty parameters and those the rules remove, sorts by name then value
 * (by code unit, so the order never depends on locale) and joins again.
 */
export function normaliseQuery(query: string, rules: CompiledQueryRules): string | undefined {
  if (query === '') return '';
  const params: { name: string; value: string; raw: string }[] = [];
  for (const piece of query.split('&')) {
    if (piece === '') continue;
    const raw = canonicalEncoding(piece, QUERY_CHAR);
    if (raw === undefined) return undefined;
    const eq = raw.indexOf('=');
    const name = eq === -1 ? raw : raw.slice(0, eq);
    const decoded = decodeName(name);
    if (rules.keepOnly && !rules.keepOnly.test(decoded)) continue;
    if (rules.drop?.test(decoded)) continue;
    params.push({ name, value: eq === -1 ? '' : raw.slice(eq), raw });
  }
  if (params.length > 1) {
    params.sort((a, b) => compare(a.name, b.name) || compare(a.value, b.value));
  }
  return params.map((p) => p.raw).join('&');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface NormalisedTarget {
  path: string;
  /** Without the leading "?"; empty when there is no query left. */
  query: string;
}

/** Splits an origin-form request target and normalises both halves; undefined when malformed. */
export function normaliseTarget(target: string, rules: CompiledQueryRules): NormalisedTarget | undefined {
  const hash = target.indexOf('#');
  const withoutFragment = hash === -1 ? target : target.slice(0, hash);
  const q = withoutFragment.indexOf('?');
  const path = normalisePath(q === -1 ? withoutFragment : withoutFragment.slice(0, q));
  if (path === undefined) return undefined;
  const query = q === -1 ? '' : normaliseQuery(withoutFragment.slice(q + 1), rules);
  if (query === undefined) return undefined;
  return { path, query };
}

/** The target sent to the origin: exactly the parts the key was built from. */
export function targetString(target: NormalisedTarget): string {
  return target.query === '' ? target.path : `${target.path}?${target.query}`;
}
