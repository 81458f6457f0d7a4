/**
 * @module What to do with the origin's response: one pure decision (RFC 9111 §3, §4.3.4), no I/O.
 * Store it or not, for whom (the shared copy loses what `private="…"` / `no-cache="…"` withhold),
 * under which variant and for how long; a 304 merged into the stored entry, or fetched whole when it
 * names another representation. The rule that a stored success is never replaced by an error lives
 * here too, in its three forms: an error is not stored over a success, a failing origin is answered
 * by the stale success instead, and such refusals leave no hit-for-miss marker behind.
 */
import { variantKey } from '../key/cache-key.js';
import { varyValues } from '../key/vary.js';
import { endToEndHeaders, type Headers } from '../origin/hop-by-hop.js';
import { headerMap, mergeNotModified, notModifiedSelects } from '../policy/conditional.js';
import { decideStorage, REQUEST_SPECIFIC, type StoreDecision, type StoreDecisionInput } from '../policy/storable.js';
import { mediaTypeIn, responseRule } from '../rules/match.js';
import type { CachedEntry } from '../store/types.js';
import { representationEtag } from '../transform/compress.js';
import { cookiesKeyed, fillCookie } from './origin-request.js';
import type { RequestView } from './recv.js';

export interface FillHead {
  /** Status delivered to clients (the stored one after a 304). */
  status: number;
  /** What the origin answered (304 when a stored response was revalidated). */
  originStatus: number;
  /** End-to-end response headers, as delivered to the request that started the fill. */
  headers: Headers;
  /**
   * The headers every other request (and the stored copy) gets: without the fields a qualified
   * `private="…"` or `no-cache="…"` withholds from reuse.
   */
  sharedHeaders: Headers;
  decision: StoreDecision;
  /** The response will be stored once complete (storable, and not known to be over the size limit). */
  storing: boolean;
  /** Entry hash the response is stored under (its Vary names applied to the fill's request). */
  entryKey: string;
  /** The request values of its Vary names, by name (listed by the admin API). */
  variant: [string, string | null][];
  /** Time the origin took to send the response head (ms; 0 for a 304-refreshed entry's body). */
  originMs: number;
  /** Larger bodies are not stored: the service's cache.maxObjectBytes, or its rule's. */
  maxObjectBytes: number;
  /** A full response that replaces a stored entry the fill revalidated (the stored one is outdated). */
  replacesStored?: boolean;
  /** Relayed from another node's fill (fleet-fill.ts): Cache-Status says `detail=fleet`. */
  relayed?: boolean;
}

const SCHEME_HEADER = 'x-forwarded-proto';

/**
 * A redirect to the same host under the other scheme: an origin sending HTTP clients to HTTPS by
 * X-Forwarded-Proto, without `Vary: X-Forwarded-Proto`.
 */
function schemeRedirect(view: RequestView, answer: OriginAnswer): boolean {
  if (answer.status < 300 || answer.status > 399) return false;
  const location = answer.headers.location;
  if (typeof location !== 'string') return false;
  try {
    const target = new URL(location, `${view.scheme}://${view.authority}/`);
    const other = view.scheme === 'http' ? 'https:' : 'http:';
    return target.protocol === other && target.hostname === view.authority.replace(/:\d+$/, '');
  } catch {
    return false;
  }
}

export interface OriginAnswer {
  status: number;
  /** End-to-end headers, with Date added when the origin sent none. */
  headers: Headers;
  requestTime: number;
  responseTime: number;
}

export interface ResponseContext {
  view: RequestView;
  /** The Vary names the fill's key was computed with (the edge's best knowledge when it started). */
  guessedNames: readonly string[];
  /** The stored entry being revalidated, if any. */
  stale: CachedEntry | undefined;
  /** The request carried the stored validators (a 304 can only answer a conditional request). */
  conditional: boolean;
  /** False when the key is known to exceed the size limit. */
  mayStore: boolean;
}

export type ResponseDecision =
  /** A 304 naming another representation than the stored one (§4.3.4): fetch it whole. */
  | { kind: 'refetch' }
  /** A 304 that refreshes the stored entry: its body stands, with merged headers and new freshness. */
  | { kind: 'not-modified'; head: FillHead; update: Headers }
  /** A full response, streamed to the waiters and stored when `head.storing`. */
  | { kind: 'full'; head: FillHead };

export function decideResponse(context: ResponseContext, answer: OriginAnswer): ResponseDecision {
  const { stale } = context;
  if (answer.status === 304 && stale && context.conditional) {
    const storedHeaders = headerMap(stale.meta.headers);
    if (stale.meta.originEtag !== undefined) storedHeaders.etag = stale.meta.originEtag;
    if (!notModifiedSelects(storedHeaders, answer.headers)) return { kind: 'refetch' };
    const merged = refreshedHeaders(stale, answer.headers);
    const head = headFor(context, { ...answer, status: stale.meta.status, headers: merged }, 304, false);
    // The response now comes from the cache: its Age is the refreshed entry's, not the 304's.
    if (head.decision.ok) merged.age = String(head.decision.initialAgeSeconds);
    else delete merged.age;
    // A copy: the 304's header object goes on to the response while the store still reads it.
    return { kind: 'not-modified', head, update: { ...answer.headers } };
  }
  const declared = Number(answer.headers['content-length']);
  const tooLarge = !context.mayStore || (Number.isFinite(declared) && declared > objectLimit(context.view, answer));
  const head = headFor(context, answer, answer.status, tooLarge);
  if (stale) head.replacesStored = true;
  return { kind: 'full', head };
}

function headFor(context: ResponseContext, answer: OriginAnswer, originStatus: number, tooLarge: boolean): FillHead {
  const { view } = context;
  const cache = view.service.cache;
  const stored = context.stale?.meta.status;
  const decided: StoreDecision = replacesSuccessWithError(stored, answer.status)
    ? { ok: false, reason: 'error-over-success' }
    : decideStorage({
        method: 'GET',
        requestHeaders: view.headers,
        status: answer.status,
        responseHeaders: answer.headers,
        requestTime: answer.requestTime,
        responseTime: answer.responseTime,
        heuristic: cache.heuristicFreshness,
        keepForRevalidationMs: cache.keepForRevalidationMs,
        stripSetCookie: cache.stripSetCookie,
        stale: cache.stale,
        cookieNeedsVary:
          cache.requestCookies === 'when-varied' && fillCookie(view) !== undefined && !cookiesKeyed(view),
        rule: ruleFor(view, answer),
      });
  // http and https share an entry unless the origin varies on the scheme — as it does, without
  // saying so, when it redirects one scheme to the other: from then on the URL's entries are split
  // by X-Forwarded-Proto (the edge's own value), so neither scheme's clients get the other's answer.
  const decision: StoreDecision =
    decided.ok &&
    !decided.varyNames.includes(SCHEME_HEADER) &&
    (context.guessedNames.includes(SCHEME_HEADER) || schemeRedirect(view, answer))
      ? { ...decided, varyNames: [...decided.varyNames, SCHEME_HEADER].sort() }
      : decided;
  const names = decision.ok ? decision.varyNames : context.guessedNames;
  const values = varyValues(names, view.headers, view.runtime.vary);
  const omit = decision.ok ? decision.omitFields : [];
  return {
    status: answer.status,
    originStatus,
    headers: answer.headers,
    sharedHeaders: omit.length === 0 ? answer.headers : endToEndHeaders(answer.headers, new Set(omit)),
    decision: tooLarge ? { ok: false, reason: 'too-large' } : decision,
    storing: decision.ok && !tooLarge,
    entryKey: variantKey(view.primary, names, values).hash,
    variant: names.map((name, i) => [name, values[i] ?? null]),
    originMs: Math.max(0, answer.responseTime - answer.requestTime),
    maxObjectBytes: objectLimit(view, answer),
  };
}

/** The size past which a response is not stored: its rule's maxObjectBytes, else the service's. */
function objectLimit(view: RequestView, answer: OriginAnswer): number {
  if (view.rules.candidates.length === 0) return view.service.cache.maxObjectBytes;
  const type = answer.headers['content-type'];
  const rule = responseRule(view.rules, answer.status, typeof type === 'string' ? type : undefined);
  return rule?.rule.maxObjectBytes ?? view.service.cache.maxObjectBytes;
}

/**
 * The operator's rule for this response, as the storage decision takes it: the lifetime it forces
 * (`statusTtl` for its statuses; `edgeTtl` for any other status below 400 — an error is stored
 * only for a status the rule names), or that its type is never stored.
 */
function ruleFor(view: RequestView, answer: OriginAnswer): StoreDecisionInput['rule'] {
  const type = answer.headers['content-type'];
  const matched = responseRule(view.rules, answer.status, typeof type === 'string' ? type : undefined);
  if (!matched) return undefined;
  const { rule } = matched;
  const noStore =
    rule.noStoreTypes !== undefined && mediaTypeIn(typeof type === 'string' ? type : undefined, rule.noStoreTypes);
  const lifetimeMs = rule.statusTtl?.[String(answer.status)] ?? (answer.status < 400 ? rule.edgeTtl : undefined);
  const { staleWhileRevalidate, staleIfError } = rule;
  const stale =
    staleWhileRevalidate === undefined && staleIfError === undefined
      ? undefined
      : { whileRevalidateMs: staleWhileRevalidate, ifErrorMs: staleIfError };
  if (!noStore && lifetimeMs === undefined && stale === undefined) return undefined;
  return { name: matched.name, lifetimeMs, noStore, stale };
}

/** CPDoS: a stored success being revalidated is never replaced by an error response. */
function replacesSuccessWithError(storedStatus: number | undefined, status: number): boolean {
  return storedStatus !== undefined && storedStatus < 400 && status >= 400;
}

/**
 * May a request other than the one that started a fill share its response? Only a stored one, and
 * only when the request selects the same variant under the response's Vary (a fill started with no
 * Vary known and answered with none is shared by every request for the URL).
 */
export function mayShare(view: RequestView, head: FillHead, guessedNames: readonly string[]): boolean {
  if (!head.storing) return false;
  const names = head.decision.ok ? head.decision.varyNames : [];
  if (names.length === 0 && guessedNames.length === 0) return true;
  return variantKey(view.primary, names, varyValues(names, view.headers, view.runtime.vary)).hash === head.entryKey;
}

/**
 * While a stale entry may stand in for a failing origin (RFC 5861 §4), a failure status
 * (origin.failureStatuses) is answered with the stale entry rather than passed on.
 */
export function staleAnswersInstead(view: RequestView, originStatus: number): boolean {
  return view.service.origin.failureStatuses.includes(originStatus);
}

/**
 * Does a refusal to store say something about the URL (leave a hit-for-miss marker, remove what the
 * response replaces), or only about this request (an error met while revalidating, a visitor's
 * cookie)? The latter leave the stored entry and coalescing as they are.
 */
export function refusalIsTheUrls(decision: StoreDecision): boolean {
  return !decision.ok && !REQUEST_SPECIFIC.has(decision.reason);
}

/**
 * A stored representation's headers updated from a 304 (RFC 9111 §3.2 / §4.3.4). What makes the
 * representation itself — its Content-Encoding, Vary, an image's Content-Type, its own strong ETag
 * (the 304's is the origin's, suffixed for a derived representation) — stays its own.
 */
export function refreshedHeaders(entry: CachedEntry, update: Headers): Headers {
  const own: Headers = { ...update };
  delete own['content-encoding'];
  delete own.vary;
  if (entry.meta.imageFormat !== undefined) delete own['content-type'];
  const merged = mergeNotModified(entry.meta.headers, own);
  const suffix = entry.meta.coding ?? entry.meta.imageFormat ?? 'identity';
  const etag = typeof update.etag === 'string' ? update.etag : undefined;
  if (suffix !== 'identity' && etag !== undefined) merged.etag = representationEtag(etag, suffix);
  return merged;
}
