/**
 * @module How long past freshness a stored response may still be served (RFC 5861): at once while
 * it is refreshed in the background (`stale-while-revalidate`), and when the origin fails
 * (`stale-if-error`, or the service's grace window when the origin said nothing). RFC 9111
 * §4.2.4: must-revalidate, proxy-revalidate, s-maxage and no-cache forbid stale responses, so
 * they close both windows — unless the service overrides them for outages.
 */
import { type Directives, deltaSeconds, responsePolicy } from './cache-control.js';
import { headerMap } from './conditional.js';
import { forbidsStale } from './evaluate.js';

export interface StaleSettings {
  /** Past freshness, served on origin failure when the origin sent no stale-if-error (ms). */
  graceMs: number;
  /** Serve stale on origin failure even when the response forbids stale serving. */
  overrideRevalidateOnError: boolean;
}

export interface StaleWindows {
  /** Past freshness: served at once while one background request refreshes it (ms). */
  whileRevalidateMs: number;
  /** Past freshness: served when the origin fails (ms). */
  ifErrorMs: number;
}

export const NO_STALE: StaleSettings = { graceMs: 0, overrideRevalidateOnError: false };

/**
 * Windows an operator's cache rule sets (rules/schema.ts): they replace the origin's directives,
 * but a response that forbids stale serving still is not served stale (RFC 9111 §4.2.4), bar the
 * service's override for outages.
 */
export interface StaleOverride {
  whileRevalidateMs?: number | undefined;
  ifErrorMs?: number | undefined;
}

export function staleWindows(directives: Directives, settings: StaleSettings, override?: StaleOverride): StaleWindows {
  const forbidden = forbidsStale(directives);
  const seconds = (name: string) => {
    const value = deltaSeconds(directives, name);
    return value === undefined ? undefined : value * 1000;
  };
  const whileRevalidate = override?.whileRevalidateMs ?? seconds('stale-while-revalidate');
  const ifError = override?.ifErrorMs ?? seconds('stale-if-error');
  return {
    whileRevalidateMs: forbidden || whileRevalidate === undefined ? 0 : whileRevalidate,
    ifErrorMs: forbidden && !settings.overrideRevalidateOnError ? 0 : (ifError ?? settings.graceMs),
  };
}

/** The windows of a stored response, from its stored headers (read only off the fresh path). */
export function storedStaleWindows(
  headers: [string, string][],
  settings: StaleSettings,
  override?: StaleOverride,
): StaleWindows {
  return staleWindows(responsePolicy(headerMap(headers)).directives, settings, override);
}
