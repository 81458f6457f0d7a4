/**
 * @module May a shared cache store this response, and until when may it be used without asking the
 * origin? (RFC 9111 §3 and §4.2, RFC 9213 for CDN-Cache-Control.) Every refusal has a reason: it
 * goes into Cache-Status `detail=` and the logs.
 */
import { parseVary } from '../key/vary.js';
import { type Directives, parseCacheControl, responsePolicy } from './cache-control.js';
import {
  correctedInitialAge,
  freshnessLifetime,
  HEURISTICALLY_CACHEABLE,
  type HeaderMap,
  type HeuristicSettings,
  type Lifetime,
  single,
} from './freshness.js';
import { NO_STALE, type StaleOverride, type StaleSettings, staleWindows } from './stale.js';

export type NotStoredReason =
  | 'method'
  | 'request-no-store'
  | 'status'
  | 'partial-content'
  | 'must-understand'
  | 'no-store'
  | 'private'
  | 'no-cache'
  | 'authorization'
  | 'set-cookie'
  | 'vary-star'
  | 'no-freshness'
  | 'stale-on-arrival'
  | 'too-large'
  | 'request-error'
  | 'error-over-success'
  | 'request-cookie'
  | 'rule';

/**
 * Refusals that come from this request, not from the URL: they leave no hit-for-miss memory (the
 * next request may well be stored) and never remove what is stored.
 */
export const REQUEST_SPECIFIC: ReadonlySet<NotStoredReason> = new Set(['error-over-success', 'request-cookie']);

export interface StoreDecisionInput {
  method: string;
  requestHeaders: HeaderMap;
  status: number;
  responseHeaders: HeaderMap;
  requestTime: number;
  responseTime: number;
  heuristic: HeuristicSettings;
  /** How long a stale response with validators is kept for conditional revalidation (ms). */
  keepForRevalidationMs: number;
  /** The service opted in to storing Set-Cookie responses with the cookie removed from the copy. */
  stripSetCookie?: boolean;
  /** The service's stale serving: entries are kept past freshness for the longest stale window. */
  stale?: StaleSettings;
  /**
   * The request still carries a cookie the origin may have rendered for (after the service's
   * ignored cookies are removed), and the service stores such responses only when they say
   * `Vary: Cookie` (cache.requestCookies: when-varied).
   */
  cookieNeedsVary?: boolean;
  /**
   * The operator's rule for this response (rules/match.ts, responseRule): a lifetime it forces, or
   * a refusal to store. A forced lifetime overrides the origin's freshness, no-cache and no-store,
   * never the refusals that protect one visitor's content (private, Authorization, Set-Cookie,
   * a request cookie, Vary: *) nor those against cache poisoning (request errors).
   */
  rule?: { name: string; lifetimeMs?: number | undefined; noStore?: boolean; stale?: StaleOverride | undefined };
}

export type StoreDecision =
  | {
      ok: true;
      directives: Directives;
      lifetime: Lifetime;
      initialAgeSeconds: number;
      /** Absolute time (ms) at which the response stops being fresh (now, for no-cache). */
      staleAt: number;
      /** Absolute time (ms) at which the entry leaves the store. */
      deleteAt: number;
      varyNames: string[];
      /** The operator's rule that forced the lifetime, when one did. */
      rule?: string;
      /** Stale windows an operator's rule set, kept with the entry for serving it later. */
      staleOverride?: StaleOverride;
      /**
       * Header fields the stored (shared) copy must not carry: those named by a qualified
       * `private="…"` (§5.2.2.7) or `no-cache="…"` (§5.2.2.4).
       */
      omitFields: string[];
    }
  | { ok: false; reason: NotStoredReason };

const refuse = (reason: NotStoredReason): StoreDecision => ({ ok: false, reason });

/** RFC 9110 statuses that describe the request, not the resource: 400, 411, 413, 414, 417, 431. */
const REQUEST_ERRORS = new Set([400, 411, 413, 414, 417, 431]);

/**
 * Status codes this cache understands (RFC 9111 §5.2.2.3 must-understand): their semantics for
 * caching are known to it.
 */
const UNDERSTOOD = new Set([...HEURISTICALLY_CACHEABLE, 302, 303, 307]);

export function hasValidator(headers: HeaderMap): boolean {
  return single(headers, 'etag') !== undefined || single(headers, 'last-modified') !== undefined;
}

export function decideStorage(input: StoreDecisionInput): StoreDecision {
  const { status, responseHeaders: res, requestHeaders: req } = input;
  // §3: "the request method is understood by the cache" — GET (and HEAD, answered from GET).
  if (input.method !== 'GET' && input.method !== 'HEAD') return refuse('method');
  // §3: "the no-store cache directive is not present in the request".
  if (parseCacheControl(req['cache-control']).has('no-store')) return refuse('request-no-store');
  // §3: "the response status code is final"; 206 is never stored as a full object (§3.3).
  if (status === 206) return refuse('partial-content');
  if (status < 200 || status === 304 || status > 599) return refuse('status');
  // CPDoS: errors a request can provoke on purpose (malformed or oversized headers, overlong URLs)
  // must never be stored and served to everyone else, whatever their freshness says.
  if (REQUEST_ERRORS.has(status)) return refuse('request-error');
  if (input.rule?.noStore) return refuse('rule');
  const forcedMs = input.rule?.lifetimeMs;

  const { directives, source } = responsePolicy(res);
  // §5.2.2.3: must-understand — store only a status code whose caching semantics are known, and
  // then ignore no-store (which it was sent with, for caches that do not understand it).
  const mustUnderstand = directives.has('must-understand');
  if (mustUnderstand && !UNDERSTOOD.has(status)) return refuse('must-understand');
  // §3: "the no-store cache directive is not present in the response".
  if (directives.has('no-store') && !mustUnderstand && forcedMs === undefined) return refuse('no-store');
  // §3: "if the cache is shared: the private response directive is either not present or allows a
  // shared cache to store a modified response": with field names (§5.2.2.7) the rest may be
  // stored, without those fields; unqualified private never is.
  const privateFields = fieldNames(directives.get('private'));
  if (privateFields === undefined && directives.has('private')) return refuse('private');
  // §3.5: a response to a request with Authorization only if public, s-maxage or must-revalidate.
  if (
    req.authorization !== undefined &&
    !directives.has('public') &&
    !directives.has('s-maxage') &&
    !directives.has('must-revalidate')
  ) {
    return refuse('authorization');
  }
  // A response that sets a cookie is personal; storing it would hand one visitor's session to all.
  // A service may opt in to storing such responses without the cookie (the requester keeps it).
  const setsCookie = res['set-cookie'] !== undefined;
  if (setsCookie && !input.stripSetCookie) return refuse('set-cookie');
  // RFC 9110 §12.5.5: Vary "*" can never be matched by a later request.
  const vary = parseVary(res.vary);
  if (vary.kind === 'star') return refuse('vary-star');
  // A cookie in the request and no Vary: Cookie: the page may be one visitor's (a greeting, a
  // language, a reflected value), and RFC 9111 would store it for all. Not here.
  if (input.cookieNeedsVary && !vary.names.includes('cookie')) return refuse('request-cookie');

  const lifetime: Lifetime =
    forcedMs !== undefined
      ? { seconds: forcedMs / 1000, source: 'rule' }
      : freshnessLifetime(status, directives, res, input.responseTime, input.heuristic, source !== 'cache-control');
  const validators = hasValidator(res);
  // §3: storable only with explicit freshness, public, or a heuristically cacheable status.
  if (lifetime.source === 'none' && !directives.has('public') && !HEURISTICALLY_CACHEABLE.has(status)) {
    return refuse('no-freshness');
  }
  // CPDoS: an error is stored only when the origin gave it explicit freshness, never heuristically
  // or merely to be revalidated.
  if (status >= 400 && (lifetime.source === 'none' || lifetime.source === 'heuristic')) return refuse('no-freshness');
  const initialAgeSeconds = correctedInitialAge(res, input.requestTime, input.responseTime);
  // A rule's lifetime counts from when this edge received the response, whatever its Age.
  const remaining = lifetime.source === 'rule' ? lifetime.seconds : lifetime.seconds - initialAgeSeconds;
  // §5.2.2.4: unqualified no-cache — never used without revalidation; with field names only those
  // fields are withheld from reuse, and the response is otherwise cached as usual.
  const noCache = directives.get('no-cache') === true && forcedMs === undefined;
  const noCacheFields = fieldNames(directives.get('no-cache')) ?? [];
  const staleAt = noCache ? input.responseTime : input.responseTime + Math.max(0, remaining) * 1000;
  // A response that is stale on arrival (or no-cache) is worth keeping only if it can be
  // revalidated with a conditional request; then a 304 saves sending the body again.
  // Without validators, it is still worth keeping when the origin explicitly allows serving it
  // stale (RFC 5861); the service's grace alone does not make such a response storable.
  const explicit = staleWindows(directives, NO_STALE, input.rule?.stale);
  if (staleAt <= input.responseTime && !validators && explicit.ifErrorMs === 0 && explicit.whileRevalidateMs === 0) {
    return refuse(noCache ? 'no-cache' : lifetime.source === 'none' ? 'no-freshness' : 'stale-on-arrival');
  }
  // The entry outlives its freshness by the longest stale window (and the revalidation keep).
  const staleOverride = input.rule?.stale;
  const windows = staleWindows(directives, input.stale ?? NO_STALE, staleOverride);
  const keepFor = Math.max(validators ? input.keepForRevalidationMs : 0, windows.ifErrorMs, windows.whileRevalidateMs);
  return {
    ok: true,
    directives,
    lifetime,
    initialAgeSeconds,
    staleAt,
    deleteAt: staleAt + keepFor,
    varyNames: withContentCodingVary(vary.names, res),
    ...(forcedMs !== undefined && input.rule ? { rule: input.rule.name } : {}),
    ...(staleOverride ? { staleOverride } : {}),
    omitFields: [...(privateFields ?? []), ...noCacheFields, ...(setsCookie ? ['set-cookie'] : [])],
  };
}

/** Field names in a qualified directive (`private="a, b"`), lower-cased; undefined when unqualified. */
function fieldNames(value: string | true | undefined): string[] | undefined {
  if (typeof value !== 'string') return undefined;
  const names = value
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter((n) => n !== '');
  return names.length > 0 ? names : undefined;
}

/**
 * An origin that compresses but forgets `Vary: Accept-Encoding` would otherwise get gzip bytes
 * served to clients that cannot read them; the edge adds the header to the variant rule itself.
 */
function withContentCodingVary(names: string[], res: HeaderMap): string[] {
  const coding = res['content-encoding'];
  if (coding === undefined || coding === 'identity' || names.includes('accept-encoding')) return names;
  return [...names, 'accept-encoding'].sort();
}
