/**
 * @module Freshness lifetime and age (RFC 9111 §4.2), as absolute times kept with the entry:
 * the entry is fresh until `staleAt`; its Age at any moment is derived from `initialAgeSeconds`
 * and `responseTime`, never stored as a counter.
 */
import { type Directives, deltaSeconds, MAX_DELTA_SECONDS } from './cache-control.js';
import { parseHttpDate } from './http-date.js';

export type HeaderMap = Record<string, string | string[] | undefined>;

export function single(headers: HeaderMap, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** RFC 9110 §15.1: status codes cacheable by default (heuristically cacheable). */
export const HEURISTICALLY_CACHEABLE = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);

export interface HeuristicSettings {
  enabled: boolean;
  maxSeconds: number;
}

/** Where a lifetime came from; `rule`: an operator's cache rule forced it (docs/rules.md). */
export type LifetimeSource = 's-maxage' | 'max-age' | 'expires' | 'heuristic' | 'none' | 'rule';

export interface Lifetime {
  seconds: number;
  source: LifetimeSource;
}

/**
 * RFC 9111 §4.2.1: a shared cache uses s-maxage, then max-age, then Expires − Date; a heuristic only
 * when none is present (§4.2.2), and here only when the service turns it on.
 */
export function freshnessLifetime(
  status: number,
  directives: Directives,
  headers: HeaderMap,
  responseTime: number,
  heuristic: HeuristicSettings,
  /** RFC 9213 §2.2: with a targeted field in charge, Expires is ignored. */
  ignoreExpires = false,
): Lifetime {
  const sMaxage = deltaSeconds(directives, 's-maxage');
  if (sMaxage !== undefined) return { seconds: sMaxage, source: 's-maxage' };
  const maxAge = deltaSeconds(directives, 'max-age');
  if (maxAge !== undefined) return { seconds: maxAge, source: 'max-age' };
  const expiresHeader = ignoreExpires ? undefined : single(headers, 'expires');
  if (expiresHeader !== undefined) {
    // §5.3: an invalid Expires (including "0") means already expired.
    const expires = parseHttpDate(expiresHeader);
    if (expires === undefined) return { seconds: 0, source: 'expires' };
    const date = parseHttpDate(single(headers, 'date')) ?? responseTime;
    return { seconds: Math.max(0, Math.floor((expires - date) / 1000)), source: 'expires' };
  }
  if (heuristic.enabled && HEURISTICALLY_CACHEABLE.has(status)) {
    const lastModified = parseHttpDate(single(headers, 'last-modified'));
    const date = parseHttpDate(single(headers, 'date')) ?? responseTime;
    if (lastModified !== undefined && lastModified < date) {
      // §4.2.2: "a typical setting of this fraction might be 10%".
      const seconds = Math.floor((date - lastModified) / 10_000);
      return { seconds: Math.min(seconds, heuristic.maxSeconds), source: 'heuristic' };
    }
  }
  return { seconds: 0, source: 'none' };
}

/**
 * RFC 9111 §4.2.3 corrected_initial_age, in seconds: the larger of the apparent age (from Date) and
 * the upstream Age plus the time the response took to arrive.
 */
export function correctedInitialAge(headers: HeaderMap, requestTime: number, responseTime: number): number {
  const date = parseHttpDate(single(headers, 'date'));
  const apparentAge = date === undefined ? 0 : Math.max(0, (responseTime - date) / 1000);
  const ageValue = parseAge(headers);
  const responseDelay = Math.max(0, (responseTime - requestTime) / 1000);
  return Math.floor(Math.max(apparentAge, ageValue + responseDelay));
}

/**
 * RFC 9111 §5.1: Age is a non-negative integer. A list-based value (several members or several
 * lines) uses its first member; an invalid value is ignored (0).
 */
export function parseAge(headers: HeaderMap): number {
  const first = single(headers, 'age')?.split(',')[0]?.trim();
  return first !== undefined && /^\d+$/.test(first) ? Math.min(Number(first), MAX_DELTA_SECONDS) : 0;
}

/** Current age in whole seconds (§4.2.3 current_age), for the Age header. */
export function currentAge(initialAgeSeconds: number, responseTime: number, now: number): number {
  return Math.max(0, Math.floor(initialAgeSeconds + (now - responseTime) / 1000));
}
