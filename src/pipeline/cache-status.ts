/**
 * @module The cache's account of each response: `X-Cache-Status` in Kong's vocabulary and the
 * RFC 9211 `Cache-Status` structured header.
 */

/** Kong's vocabulary; Stale arrives with stale serving. */
/**
 * Hit, Miss, Bypass; Refresh (revalidated with the origin); Updating (stale, served while one
 * background request refreshes it); Stale (served because the origin failed).
 */
export type XCacheStatus = 'Hit' | 'Miss' | 'Bypass' | 'Refresh' | 'Updating' | 'Stale';

/** RFC 9211 §2.2 fwd values. */
export type ForwardReason = 'bypass' | 'method' | 'uri-miss' | 'vary-miss' | 'miss' | 'request' | 'stale';

export const CACHE_NAME = 'cachefront';

export interface CacheStatusParts {
  hit?: boolean;
  fwd?: ForwardReason;
  fwdStatus?: number;
  stored?: boolean;
  collapsed?: boolean;
  /** Remaining freshness in seconds (may be negative for stale hits). */
  ttl?: number;
  key?: string;
  detail?: string;
}

/** sf-string (RFC 8941 §3.3.3): quotes and backslashes escaped; callers pass printable ASCII. */
function sfString(value: string): string {
  return `"${value.replace(/[\\"]/g, '\\$&').replace(/[^\x20-\x7e]/g, '?')}"`;
}

const TOKEN = /^[A-Za-z*][A-Za-z0-9:/!#$%&'*+\-.^_`|~]*$/;

export function formatCacheStatus(parts: CacheStatusParts): string {
  let out = CACHE_NAME;
  if (parts.hit) out += '; hit';
  if (parts.fwd) out += `; fwd=${parts.fwd}`;
  if (parts.fwdStatus !== undefined) out += `; fwd-status=${parts.fwdStatus}`;
  if (parts.stored) out += '; stored';
  if (parts.collapsed) out += '; collapsed';
  if (parts.ttl !== undefined) out += `; ttl=${Math.trunc(parts.ttl)}`;
  if (parts.key !== undefined) out += `; key=${sfString(parts.key)}`;
  if (parts.detail !== undefined) out += `; detail=${TOKEN.test(parts.detail) ? parts.detail : sfString(parts.detail)}`;
  return out;
}

/** X-Cache-Key must stay a single safe header line whatever the request contained. */
export function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, '?');
}
