/**
 * @module May this stored response answer this request, or must it be validated with the origin
 * first? (RFC 9111 §4 and the request directives of §5.2.1.) One decision, no I/O.
 */
import { type Directives, deltaSeconds, parseCacheControl, responsePolicy } from './cache-control.js';
import { headerMap } from './conditional.js';
import type { HeaderMap } from './freshness.js';

export type Use =
  /** Fresh, and the request's directives accept it. */
  | { kind: 'fresh' }
  /** Stale, but the client accepts it (max-stale) and the response allows it. */
  | { kind: 'stale-accepted' }
  /** Must be validated (or fetched anew) before use; `reason` is for Cache-Status. */
  | { kind: 'validate'; reason: 'stale' | 'request' };

export interface StoredTimes {
  responseTime: number;
  initialAgeSeconds: number;
  staleAt: number;
  /** The stored response headers, read only when the response is not simply fresh. */
  headers: [string, string][];
}

/** Request directives (§5.2.1), honouring Pragma: no-cache only without Cache-Control (§5.4). */
export function requestDirectives(headers: HeaderMap): Directives {
  const cc = headers['cache-control'];
  if (cc !== undefined) return parseCacheControl(cc);
  const pragma = headers.pragma;
  if (pragma !== undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(Array.isArray(pragma) ? pragma.join(',') : pragma)) {
    return new Map([['no-cache', true]]);
  }
  return EMPTY;
}

const EMPTY: Directives = new Map();

/**
 * §5.2.2.2 must-revalidate, §5.2.2.8 proxy-revalidate and §5.2.2.10 s-maxage (shared caches) and
 * no-cache forbid serving the response stale.
 */
export function forbidsStale(directives: Directives): boolean {
  return (
    directives.has('must-revalidate') ||
    directives.has('proxy-revalidate') ||
    directives.has('s-maxage') ||
    directives.get('no-cache') === true
  );
}

export function evaluateUse(stored: StoredTimes, request: Directives, now: number): Use {
  const fresh = now < stored.staleAt;
  if (request.size === 0) return fresh ? FRESH : STALE;
  // §5.2.1.4 no-cache: the client wants a validated response.
  if (request.has('no-cache')) return BY_REQUEST;
  // §5.2.1.1 max-age: not older than N seconds — compared with the exact age, so max-age=0 asks
  // for validation of anything not received this very millisecond.
  const maxAge = deltaSeconds(request, 'max-age');
  if (maxAge !== undefined && stored.initialAgeSeconds + (now - stored.responseTime) / 1000 > maxAge) {
    return BY_REQUEST;
  }
  // §5.2.1.3 min-fresh: still fresh N seconds from now.
  const minFresh = deltaSeconds(request, 'min-fresh');
  if (minFresh !== undefined && stored.staleAt - now < minFresh * 1000) return BY_REQUEST;
  if (fresh) return FRESH;
  // §5.2.1.2 max-stale: stale is acceptable (up to N seconds past freshness, or any amount).
  if (request.has('max-stale')) {
    const limit =
      request.get('max-stale') === true ? Number.POSITIVE_INFINITY : (deltaSeconds(request, 'max-stale') ?? 0);
    const staleFor = (now - stored.staleAt) / 1000;
    if (staleFor <= limit && !forbidsStale(responsePolicy(headerMap(stored.headers)).directives)) {
      return { kind: 'stale-accepted' };
    }
  }
  return STALE;
}

const FRESH: Use = { kind: 'fresh' };
const STALE: Use = { kind: 'validate', reason: 'stale' };
const BY_REQUEST: Use = { kind: 'validate', reason: 'request' };
