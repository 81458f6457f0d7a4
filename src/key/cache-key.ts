/**
 * @module The cache key. Parts are serialised with a length prefix each (`<length>:<part>`), so no
 * two different part lists share a serialisation (Varnish's separator-free hashing is the warning),
 * then hashed with SHA-256. The primary key names a URL; the variant key adds the values of the
 * headers the origin varies on. A readable form is kept for X-Cache-Key and the admin API.
 */
import { hash } from 'node:crypto';

/** Bump when the key layout changes: old entries then simply stop matching. */
export const KEY_VERSION = 'k3';

export interface PrimaryKeyInput {
  service: string;
  /**
   * Shown in the readable form only: http and https share an entry (docs/tls.md, "One entry for
   * both schemes"); an origin whose answers differ says `Vary: X-Forwarded-Proto`.
   */
  scheme: 'http' | 'https';
  /** Host as sent to the origin: lower-cased, default port removed. */
  authority: string;
  /** GET and HEAD share one class: HEAD is answered from GET's entries. */
  methodClass: 'GET';
  path: string;
  query: string;
}

export interface PrimaryKey {
  hash: string;
  /** The length-prefixed serialisation; the variant hash extends it. */
  serialised: string;
  readable: string;
}

export interface VariantKey {
  /** What the entry is stored under. Equal to the primary hash when nothing is varied on. */
  hash: string;
  readable: string;
}

/** Length-prefixed concatenation; `undefined` (a missing header) is written as "-" with no length. */
export function serialiseParts(parts: readonly (string | undefined)[]): string {
  let out = '';
  for (const part of parts) out += part === undefined ? '-' : `${part.length}:${part}`;
  return out;
}

/** SHA-256 (collisions must be infeasible: a shared key is a shared response), one-shot for speed. */
function digest(input: string): string {
  return hash('sha256', input, 'base64url').slice(0, 27);
}

export function primaryKey(input: PrimaryKeyInput): PrimaryKey {
  const serialised = serialiseParts([
    KEY_VERSION,
    input.service,
    input.authority,
    input.methodClass,
    input.path,
    input.query,
  ]);
  const target = input.query === '' ? input.path : `${input.path}?${input.query}`;
  return {
    hash: digest(serialised),
    serialised,
    readable: `${input.methodClass} ${input.scheme}://${input.authority}${target}`,
  };
}

/**
 * The entry key for one combination of varied header values. `names` must be the normalised,
 * sorted list from parseVary; `values` the matching normalised request values.
 */
export function variantKey(
  primary: PrimaryKey,
  names: readonly string[],
  values: readonly (string | undefined)[],
): VariantKey {
  if (names.length === 0) return { hash: primary.hash, readable: primary.readable };
  const parts: (string | undefined)[] = [primary.serialised, String(names.length)];
  let readable = primary.readable;
  names.forEach((name, i) => {
    const value = values[i];
    parts.push(name, value);
    readable += ` | ${name}=${value === undefined ? '(none)' : JSON.stringify(value)}`;
  });
  return { hash: urlShare(primary.hash, digest(serialiseParts(parts))), readable };
}

/**
 * Every hash derived from a URL starts with the URL's own first two characters: they choose the
 * Redis hash slot (store/keys.ts, `shardOf`), so all keys of a URL — its variants, their objects,
 * its Vary record — live in one slot while a service's URLs spread over many. The rest of the
 * digest (150 bits) still tells the URL's variants apart.
 */
function urlShare(primaryHash: string, digested: string): string {
  return primaryHash.slice(0, 2) + digested.slice(2);
}

/**
 * A primary key extended with request headers the service keys on (`key.headers`): as much a part
 * of the URL's identity as the query, whatever the origin's Vary says.
 */
export function keyedPrimary(
  primary: PrimaryKey,
  names: readonly string[],
  values: readonly (string | undefined)[],
): PrimaryKey {
  if (names.length === 0) return primary;
  const parts: (string | undefined)[] = [primary.serialised, 'h', String(names.length)];
  let readable = primary.readable;
  names.forEach((name, i) => {
    const value = values[i];
    parts.push(name, value);
    readable += ` | ${name}=${value === undefined ? '(none)' : JSON.stringify(value)}`;
  });
  const serialised = serialiseParts(parts);
  return { hash: digest(serialised), serialised, readable };
}
