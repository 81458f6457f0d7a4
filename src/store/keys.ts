/**
 * @module Every Redis key cachefront uses, built here and nowhere else. A service's keys share the
 * hash tag `{<service>}`, so a service lives in one Redis Cluster slot and its scripts stay atomic.
 */

const PREFIX = 'cf:';

/** `cf:{svc}:` — the part every key of a service starts with. Service ids never contain braces. */
export function servicePrefix(service: string): string {
  return `${PREFIX}{${service}}:`;
}

/** The packed record (entry or hit-for-miss marker) for one variant. */
export function entryKey(service: string, entryHash: string): string {
  return `${servicePrefix(service)}e:${entryHash}`;
}

/** The Vary names last stored for a URL (a comma-separated list, possibly empty). */
export function varyKey(service: string, primaryHash: string): string {
  return `${servicePrefix(service)}vary:${primaryHash}`;
}

/** The set of entry hashes stored under one URL: all its variants. */
export function variantsKey(service: string, primaryHash: string): string {
  return `${servicePrefix(service)}variants:${primaryHash}`;
}

/** A client's request counter for one rate-limit window. */
export function rateLimitKey(service: string, client: string, window: number): string {
  return `${servicePrefix(service)}rl:${client}:${window}`;
}

/**
 * Per-service indexes (lua/includes/entryIndex.lua describes them all): objects stored but not yet
 * indexed, decayed hit score, delete time, object summaries, hit counts, and the lex indexes
 * listing walks (by path, by tag).
 */
export function indexKeys(service: string) {
  const prefix = servicePrefix(service);
  return {
    pending: `${prefix}idx:pending`,
    freq: `${prefix}idx:freq`,
    expiry: `${prefix}idx:expiry`,
    info: `${prefix}idx:info`,
    hits: `${prefix}idx:hits`,
    path: `${prefix}idx:path`,
    tag: (tag: string) => `${prefix}idx:tag:${tag}`,
  };
}

/** Counters shared by every edge node (evictions, …). */
export function statsKey(service: string): string {
  return `${servicePrefix(service)}stats`;
}

/** A short lease (one background refresh, one origin probe across every node). */
export function leaseKey(service: string, name: string): string {
  return `${servicePrefix(service)}lease:${name}`;
}

/** The origin's shared health: consecutive failures and, when the circuit is open, until when. */
export function originHealthKey(service: string): string {
  return `${servicePrefix(service)}origin`;
}

/** Pub/sub channel on which removals are announced, so every node drops its L1 copies at once. */
export const PURGE_CHANNEL = 'cf:purge';
