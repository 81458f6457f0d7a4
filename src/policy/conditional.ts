/**
 * @module Conditional requests (RFC 9110 §13) answered from a selected response: the preconditions
 * in the order §13.2.2 prescribes, entity-tag comparison (§8.8.3.2), the headers a 304 carries
 * (§15.4.5), and the validators a revalidation sends the origin (RFC 9111 §4.3.1).
 */
import { type HeaderMap, single } from './freshness.js';
import { parseHttpDate } from './http-date.js';

export type PreconditionOutcome = 'proceed' | 'not-modified' | 'precondition-failed';

interface EntityTag {
  weak: boolean;
  opaque: string;
}

/** Parses an entity-tag list; `*` is returned as the string "*". */
export function parseEntityTags(value: string): EntityTag[] | '*' {
  if (value.trim() === '*') return '*';
  const tags: EntityTag[] = [];
  const pattern = /\s*(W\/)?("[^"]*")\s*(?:,|$)/gy;
  let match = pattern.exec(value);
  while (match) {
    tags.push({ weak: match[1] !== undefined, opaque: match[2] as string });
    if (pattern.lastIndex >= value.length) break;
    match = pattern.exec(value);
  }
  return tags;
}

function parseOne(value: string | undefined): EntityTag | undefined {
  if (value === undefined) return undefined;
  const tags = parseEntityTags(value);
  return tags === '*' ? undefined : tags[0];
}

/** §8.8.3.2 strong comparison: both strong and identical. */
export function strongMatch(a: EntityTag, b: EntityTag): boolean {
  return !a.weak && !b.weak && a.opaque === b.opaque;
}

/** §8.8.3.2 weak comparison: identical opaque-tags, weak or not. */
export function weakMatch(a: EntityTag, b: EntityTag): boolean {
  return a.opaque === b.opaque;
}

function header(headers: HeaderMap, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * §13.2.2 evaluation order for a GET or HEAD whose selected response has `status` and
 * `responseHeaders`. Preconditions apply only when that response is a 2xx (§13.1).
 */
export function evaluatePreconditions(
  method: string,
  requestHeaders: HeaderMap,
  status: number,
  responseHeaders: HeaderMap,
): PreconditionOutcome {
  if (status < 200 || status > 299) return 'proceed';
  const ifMatch = header(requestHeaders, 'if-match');
  const ifNoneMatch = header(requestHeaders, 'if-none-match');
  // Most requests carry no precondition: answer before parsing any validator (the hit path).
  if (
    ifMatch === undefined &&
    ifNoneMatch === undefined &&
    requestHeaders['if-modified-since'] === undefined &&
    requestHeaders['if-unmodified-since'] === undefined
  ) {
    return 'proceed';
  }
  const etag = parseOne(single(responseHeaders, 'etag'));
  const lastModified = parseHttpDate(single(responseHeaders, 'last-modified'));

  if (ifMatch !== undefined) {
    // §13.1.1: true for "*" when a representation exists, else a strong match with any listed tag.
    const tags = parseEntityTags(ifMatch);
    const ok = tags === '*' || (etag !== undefined && tags.some((t) => strongMatch(t, etag)));
    if (!ok) return 'precondition-failed';
  } else {
    const ifUnmodifiedSince = parseHttpDate(single(requestHeaders, 'if-unmodified-since'));
    // §13.1.4: false when the representation was modified after the date.
    if (ifUnmodifiedSince !== undefined && lastModified !== undefined && lastModified > ifUnmodifiedSince) {
      return 'precondition-failed';
    }
  }

  const isGetOrHead = method === 'GET' || method === 'HEAD';
  if (ifNoneMatch !== undefined) {
    // §13.1.2: false for "*" when a representation exists, or when any listed tag weakly matches.
    const tags = parseEntityTags(ifNoneMatch);
    const matched = tags === '*' || (etag !== undefined && tags.some((t) => weakMatch(t, etag)));
    if (matched) return isGetOrHead ? 'not-modified' : 'precondition-failed';
    return 'proceed';
  }
  if (isGetOrHead) {
    // §13.1.3: only without If-None-Match; false when not modified since the date. RFC 9111 §4.3.2:
    // a response without Last-Modified is judged by its Date.
    const since = parseHttpDate(single(requestHeaders, 'if-modified-since'));
    const modified = lastModified ?? parseHttpDate(single(responseHeaders, 'date'));
    if (since !== undefined && modified !== undefined && modified <= since) return 'not-modified';
  }
  return 'proceed';
}

/**
 * §15.4.5: a 304 carries the fields a 200 would have among Content-Location, Date, ETag, Vary,
 * Cache-Control and Expires; Last-Modified helps caches downstream update their copy.
 */
export const NOT_MODIFIED_HEADERS = new Set([
  'cache-control',
  'content-location',
  'date',
  'etag',
  'expires',
  'vary',
  'last-modified',
]);

export function notModifiedHeaders(headers: HeaderMap): HeaderMap {
  const out: HeaderMap = {};
  for (const name in headers) if (NOT_MODIFIED_HEADERS.has(name)) out[name] = headers[name];
  return out;
}

/** RFC 9111 §4.3.1: the validators sent to the origin to revalidate a stored response. */
export function revalidationHeaders(stored: HeaderMap): HeaderMap {
  const out: HeaderMap = {};
  const etag = single(stored, 'etag');
  const lastModified = single(stored, 'last-modified');
  if (etag !== undefined) out['if-none-match'] = etag;
  if (lastModified !== undefined) out['if-modified-since'] = lastModified;
  return out;
}

/**
 * §13.1.5 If-Range: the range applies only when the validator still matches — an entity-tag by
 * strong comparison, or a date equal to Last-Modified.
 */
export function ifRangeMatches(requestHeaders: HeaderMap, responseHeaders: HeaderMap): boolean {
  const value = single(requestHeaders, 'if-range');
  if (value === undefined) return true;
  if (value.trim().startsWith('"') || value.trim().startsWith('W/')) {
    const wanted = parseOne(value);
    const etag = parseOne(single(responseHeaders, 'etag'));
    return wanted !== undefined && etag !== undefined && strongMatch(wanted, etag);
  }
  const date = parseHttpDate(value);
  const lastModified = parseHttpDate(single(responseHeaders, 'last-modified'));
  return date !== undefined && lastModified !== undefined && date === lastModified;
}

/** Fields a 304 never changes in the stored response (RFC 9111 §3.2): the body's length is the stored body's. */
const NOT_UPDATED = new Set(['content-length', 'set-cookie']);

/**
 * RFC 9111 §3.2 / §4.3.4: the stored response's headers, each field present in the 304 replacing
 * the stored values of that field.
 */
export function mergeNotModified(stored: readonly [string, string][], update: HeaderMap): HeaderMap {
  const merged: HeaderMap = {};
  for (const [name, value] of stored) {
    if (update[name] !== undefined && !NOT_UPDATED.has(name)) continue;
    const existing = merged[name];
    merged[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  for (const name in update) {
    const value = update[name];
    if (value !== undefined && !NOT_UPDATED.has(name)) merged[name] = value;
  }
  return merged;
}

/** Stored header pairs as a header map (repeated fields become arrays). */
export function headerMap(pairs: readonly [string, string][]): HeaderMap {
  return mergeNotModified(pairs, {});
}

/**
 * RFC 9111 §4.3.4: may a 304 update this stored response? Its validator, when it has one, must
 * identify the stored response — a strong ETag by strong comparison, a weak one or Last-Modified
 * by equality; a 304 without validators updates the response the request was made for.
 */
export function notModifiedSelects(stored: HeaderMap, notModified: HeaderMap): boolean {
  const newTag = parseOne(single(notModified, 'etag'));
  if (newTag !== undefined) {
    const storedTag = parseOne(single(stored, 'etag'));
    if (storedTag === undefined) return false;
    return newTag.weak ? weakMatch(newTag, storedTag) : strongMatch(newTag, storedTag);
  }
  const newDate = single(notModified, 'last-modified');
  if (newDate !== undefined) return parseHttpDate(newDate) === parseHttpDate(single(stored, 'last-modified'));
  return true;
}
