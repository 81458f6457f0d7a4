/**
 * @module The Vary header (RFC 9110 §12.5.5) and the per-header rules that turn request headers
 * into the variant part of the key: Accept-Encoding → canonical bucket, User-Agent → device bucket,
 * anything else verbatim (trimmed). A missing header is distinct from an empty one.
 */
import { imageBucket } from '../transform/images.js';
import { acceptEncodingBucket, servedCoding } from './accept-encoding.js';

/**
 * The edge's own negotiation of image formats: keyed by the Accept bucket (avif / webp /
 * original). Not a header name (";" cannot appear in one), so it never meets an origin's Vary.
 */
export const IMAGE_ACCEPT = 'accept;image';

import type { DeviceClassifier } from './device.js';

export type ParsedVary = { kind: 'star' } | { kind: 'names'; names: string[] };

const NO_NAMES: ParsedVary = { kind: 'names', names: [] };

/**
 * Field names lower-cased, de-duplicated and sorted so two spellings of one Vary list agree.
 * `*` anywhere (in any line, any position) makes the response unusable for later requests.
 */
export function parseVary(header: string | readonly string[] | undefined): ParsedVary {
  if (header === undefined) return NO_NAMES;
  const lines = typeof header === 'string' ? [header] : header;
  const names = new Set<string>();
  for (const line of lines) {
    for (const item of line.split(',')) {
      const name = item.trim().toLowerCase();
      if (name === '') continue;
      if (name === '*') return { kind: 'star' };
      names.add(name);
    }
  }
  if (names.size === 0) return NO_NAMES;
  return { kind: 'names', names: [...names].sort() };
}

export type RequestHeaders = Record<string, string | string[] | undefined>;

export interface VaryContext {
  classifyDevice: DeviceClassifier;
  /** The header that carries the device bucket to the origin: varying on it is varying on the bucket. */
  deviceHeader?: string | undefined;
  /** The Cookie header without the service's ignored cookies (undefined when none is left). */
  cookies?: ((header: string) => string | undefined) | undefined;
}

const ABSENT = undefined;

function headerValue(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return ABSENT;
  return (Array.isArray(value) ? value.join(', ') : value).trim();
}

/**
 * List fields whose values are case-insensitive (media ranges, language tags, charsets, and their
 * q parameters): RFC 9111 §4.1 lets two requests match when their values differ only in whitespace
 * where the syntax allows it, or in case where the field is case-insensitive.
 */
const CASE_INSENSITIVE_LISTS = new Set(['accept', 'accept-language', 'accept-charset']);

/**
 * A list value with optional whitespace removed around ",", ";" and "=" (outside quoted strings)
 * and, for a case-insensitive field, lower-cased: "en-US, en;q=0.9" and "en-us,en; q=0.9" agree.
 */
export function canonicalList(value: string, lowerCase: boolean): string {
  let out = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    if (quoted) {
      out += ch;
      if (ch === '\\') out += value[++i] ?? '';
      else if (ch === '"') quoted = false;
      continue;
    }
    if (ch === '"') {
      quoted = true;
      out += ch;
    } else if (ch === ' ' || ch === '\t') {
      const before = out[out.length - 1];
      let j = i;
      while (value[j + 1] === ' ' || value[j + 1] === '\t') j++;
      const after = value[j + 1];
      // Whitespace next to a delimiter (or at either end) is optional; elsewhere it is kept, as one space.
      if (before !== undefined && after !== undefined && !DELIMITERS.has(before) && !DELIMITERS.has(after)) out += ' ';
      i = j;
    } else {
      out += lowerCase ? ch.toLowerCase() : ch;
    }
  }
  return out;
}

const DELIMITERS = new Set([',', ';', '=']);

/** The normalised value of one varied request header, or undefined when the request lacks it. */
export function normaliseVaryValue(name: string, headers: RequestHeaders, context: VaryContext): string | undefined {
  switch (name) {
    case 'accept-encoding':
      return servedCoding(acceptEncodingBucket(headerValue(headers, name)));
    case 'user-agent':
      return context.classifyDevice(headerValue(headers, name));
    case IMAGE_ACCEPT:
      return imageBucket(headerValue(headers, 'accept'));
    case 'cookie': {
      const value = headerValue(headers, name);
      return value === undefined || !context.cookies ? value : context.cookies(value);
    }
    default: {
      if (name === context.deviceHeader) return context.classifyDevice(headerValue(headers, 'user-agent'));
      const value = headerValue(headers, name);
      if (value === undefined || !CASE_INSENSITIVE_LISTS.has(name)) return value;
      return canonicalList(value, true);
    }
  }
}

/** Normalised values for each name, in the order of `names`. */
export function varyValues(
  names: readonly string[],
  headers: RequestHeaders,
  context: VaryContext,
): (string | undefined)[] {
  return names.map((name) => normaliseVaryValue(name, headers, context));
}
