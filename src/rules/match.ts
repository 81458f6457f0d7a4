/**
 * @module Cache rules compiled once per configuration, matched per request without compiling
 * anything. Request decisions (bypass, the key) come from the first rule whose request conditions
 * hold and that does not look at the response; response decisions (TTLs, stale windows, what is
 * not stored) from the first rule whose request and response conditions both hold — first match
 * wins, in the order the operator wrote them (docs/rules.md).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { parseCacheControl } from '../policy/cache-control.js';
import { globToRegExp, mediaType } from '../store/entry-index.js';
import type { CacheRule } from './schema.js';

/** What a rule's request conditions look at. */
export interface RuleRequest {
  method: string;
  /** The normalised path, without the query. */
  path: string;
  headers: IncomingHttpHeaders;
}

export interface CompiledRule {
  /** The operator's name for it, or its position (`#1` for the first). */
  name: string;
  rule: CacheRule;
  /** Do the request's conditions hold? */
  onRequest(request: RuleRequest): boolean;
  /** Conditions on the response (status, content type), when the rule has any. */
  onResponse: ((status: number, contentType: string | undefined) => boolean) | undefined;
}

/** The rules a request matched. */
export interface MatchedRules {
  /** Whose request decisions apply (bypass, query, key): undefined when none. */
  request: CompiledRule | undefined;
  /** Every rule whose request conditions hold, in order (responseRule picks among them). */
  candidates: readonly CompiledRule[];
}

/** What a request matches in a service without rules (shared: nothing allocated per request). */
export const NO_RULES: MatchedRules = { request: undefined, candidates: [] };

/** A header's value as one string (repeated fields joined as HTTP joins them). */
function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** A cookie's value in the request's Cookie header(s), or undefined. */
export function cookieValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const raw = headerValue(headers, 'cookie');
  if (raw === undefined) return undefined;
  for (const pair of raw.split(/;\s*/)) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim().toLowerCase() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

function fieldTest(
  condition: { name: string; value?: string | undefined; present?: boolean | undefined },
  read: (headers: IncomingHttpHeaders) => string | undefined,
): (request: RuleRequest) => boolean {
  const { value, present } = condition;
  return (request) => {
    const actual = read(request.headers);
    if (value !== undefined) return actual === value;
    return present === false ? actual === undefined : actual !== undefined;
  };
}

function extensionOf(path: string): string {
  const segment = path.slice(path.lastIndexOf('/') + 1);
  const dot = segment.lastIndexOf('.');
  return dot <= 0 ? '' : segment.slice(dot + 1).toLowerCase();
}

/** image/png matches image/png and image/*. */
export function mediaTypeIn(type: string | undefined, ranges: readonly string[]): boolean {
  const actual = mediaType(type);
  if (actual === '') return false;
  const major = actual.slice(0, actual.indexOf('/'));
  return ranges.some((range) => range === actual || range === `${major}/*`);
}

function compileRule(rule: CacheRule, index: number): CompiledRule {
  const { match } = rule;
  const tests: ((request: RuleRequest) => boolean)[] = [];
  if (match.path !== undefined) {
    const glob = globToRegExp(match.path);
    tests.push((r) => glob.test(r.path));
  }
  if (match.prefix !== undefined) {
    const prefix = match.prefix;
    tests.push((r) => r.path.startsWith(prefix));
  }
  if (match.methods !== undefined) {
    const methods = new Set(match.methods);
    tests.push((r) => methods.has(r.method));
  }
  if (match.extensions !== undefined) {
    const extensions = new Set(match.extensions);
    tests.push((r) => extensions.has(extensionOf(r.path)));
  }
  if (match.header !== undefined) {
    const name = match.header.name;
    tests.push(fieldTest(match.header, (headers) => headerValue(headers, name)));
  }
  if (match.cookie !== undefined) {
    const name = match.cookie.name;
    tests.push(fieldTest(match.cookie, (headers) => cookieValue(headers, name)));
  }
  const { status, contentType } = match;
  const statuses = status === undefined ? undefined : new Set(status);
  return {
    name: rule.name ?? `#${index + 1}`,
    rule,
    onRequest: (request) => tests.every((test) => test(request)),
    onResponse:
      statuses === undefined && contentType === undefined
        ? undefined
        : (code, type) =>
            (statuses === undefined || statuses.has(code)) &&
            (contentType === undefined || mediaTypeIn(type, contentType)),
  };
}

export class CompiledRules {
  private readonly rules: CompiledRule[];

  constructor(rules: readonly CacheRule[]) {
    this.rules = rules.map(compileRule);
  }

  get size(): number {
    return this.rules.length;
  }

  /** The rules a request matches (shared empty result for a service without rules). */
  match(request: RuleRequest): MatchedRules {
    if (this.rules.length === 0) return NO_RULES;
    let first: CompiledRule | undefined;
    const candidates: CompiledRule[] = [];
    for (const rule of this.rules) {
      if (!rule.onRequest(request)) continue;
      candidates.push(rule);
      if (first === undefined && rule.onResponse === undefined) first = rule;
    }
    return candidates.length === 0 ? NO_RULES : { request: first, candidates };
  }
}

/** The rule whose response decisions apply: the first candidate whose response conditions hold. */
export function responseRule(
  matched: MatchedRules,
  status: number,
  contentType: string | undefined,
): CompiledRule | undefined {
  return matched.candidates.find((rule) => rule.onResponse === undefined || rule.onResponse(status, contentType));
}

/**
 * The Cache-Control a client sees under a rule's `browserTtl` (seconds): `max-age` set to it,
 * `public`, `no-transform` and `immutable` kept; anything else of the origin's dropped (`s-maxage`
 * is the edge's). A `private` response is left as the origin sent it: a browser TTL never makes
 * it shareable.
 */
export function browserCacheControl(
  existing: string | string[] | undefined,
  seconds: number,
): string | string[] | undefined {
  const directives = parseCacheControl(existing);
  if (directives.has('private')) return existing;
  const kept = ['public', 'no-transform', 'immutable'].filter((name) => directives.has(name));
  return [...kept, `max-age=${Math.max(0, Math.floor(seconds))}`].join(', ');
}

/** The browser TTL (ms) the rule deciding this response sets, if any. */
export function browserTtlMs(
  matched: MatchedRules,
  status: number,
  contentType: string | undefined,
): number | undefined {
  if (matched.candidates.length === 0) return undefined;
  return responseRule(matched, status, contentType)?.rule.browserTtl;
}
