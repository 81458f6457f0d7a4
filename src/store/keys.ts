/**
 * @module Every Redis key cachefront uses, built here and nowhere else. A service's cache is split
 * into `shards` key spaces (redis.serviceShards): each is one Redis Cluster slot (hash tag
 * `{<service>}` for a single space, `{<service>/<n>}` for space n of several), with its own entries
 * and indexes, so scripts over a space stay atomic while one big service spreads over the cluster.
 * A URL's keys all live in one space, chosen by the first two characters its hashes share
 * (key/cache-key.ts). Service-wide keys (rate limits, leases, origin health) keep `{<service>}`.
 */

const PREFIX = 'cf:';

/** `cf:{svc}:` — the part every key of a service starts with. Service ids never contain braces. */
export function servicePrefix(service: string): string {
  return `${PREFIX}{${service}}:`;
}

/** base64url digit values: a hash's first two characters are a number 0–4095. */
const DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The space a URL's hash (or any hash derived from it) lives in, of `shards`. */
export function shardOf(hash: string, shards: number): number {
  if (shards <= 1) return 0;
  const digit = (i: number) => {
    const found = DIGITS.indexOf(hash[i] ?? 'A');
    return found === -1 ? (hash.charCodeAt(i) || 0) % 64 : found;
  };
  return (digit(0) * 64 + digit(1)) % shards;
}

/** `cf:{svc}:` or `cf:{svc/n}:` — the prefix of every key in one space of a service. */
export function shardPrefix(service: string, shard: number, shards: number): string {
  return shards <= 1 ? servicePrefix(service) : `${PREFIX}{${service}/${shard}}:`;
}

/**
 * The keys of one space of a service: its entries and URLs' records, and its indexes
 * (lua/includes/entryIndex.lua describes them all): objects stored but not yet indexed, decayed hit
 * score, delete time, object summaries, hit counts, the lex indexes listing walks (by path, by
 * tag), and its counters.
 */
export function keySpace(prefix: string) {
  return {
    prefix,
    entry: (entryHash: string) => `${prefix}e:${entryHash}`,
    /** Chunk `index` of a large body (lua/includes/entryIndex.lua removes them with the object). */
    chunk: (id: string, index: number) => `${prefix}ch:${id}:${index}`,
    vary: (primaryHash: string) => `${prefix}vary:${primaryHash}`,
    variants: (primaryHash: string) => `${prefix}variants:${primaryHash}`,
    pending: `${prefix}idx:pending`,
    freq: `${prefix}idx:freq`,
    expiry: `${prefix}idx:expiry`,
    info: `${prefix}idx:info`,
    hits: `${prefix}idx:hits`,
    path: `${prefix}idx:path`,
    tag: (tag: string) => `${prefix}idx:tag:${tag}`,
    stats: `${prefix}stats`,
    // Purges and regions (lua/markPurge-4.lua, docs/regions.md).
    gen: (primaryHash: string) => `${prefix}gen:${primaryHash}`,
    epoch: `${prefix}epoch`,
    purged: (primaryHash: string) => `${prefix}purged:${primaryHash}`,
    purgedAll: `${prefix}purged-all`,
    journal: `${prefix}journal`,
    applied: `${prefix}applied`,
    receipt: (id: string) => `${prefix}receipt:${id}`,
  };
}

export type KeySpace = ReturnType<typeof keySpace>;

/** A client's request counter for one rate-limit window. */
export function rateLimitKey(service: string, client: string, window: number): string {
  return `${servicePrefix(service)}rl:${client}:${window}`;
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

/** A fleet-wide fill's lease (one node fetches a cold object) and the flag nodes waiting for it leave. */
export function fillKeys(service: string, entryHash: string) {
  const prefix = servicePrefix(service);
  return {
    lease: `${prefix}fill:${entryHash}`,
    waiting: `${prefix}fill-waiting:${entryHash}`,
    /** The holder's response as it lands, for the nodes waiting (stream: head, chunks, end). */
    flight: `${prefix}flight:${entryHash}`,
  };
}

/** Pub/sub channel on which a fleet-wide fill's outcome reaches the nodes waiting for it. */
export const FILL_CHANNEL = 'cf:fill';

/**
 * The service catalog's keys (services kept as data, services/catalog.ts), in one slot of their own:
 * `{:catalog}` can never be a service's hash tag (ids have no colon).
 */
export const CATALOG_KEYS = {
  /** Hash: service id → its definition (JSON, the schema's input form). */
  services: 'cf:{:catalog}:services',
  /** Counter: raised by every change. */
  version: 'cf:{:catalog}:version',
  /** Stream: who changed what, when (the audit log). */
  audit: 'cf:{:catalog}:audit',
  /** Hash: process → the configuration it reports having applied (JSON). */
  nodes: 'cf:{:catalog}:nodes',
} as const;

/** Announces each catalog change (its version) to every process. */
export const CATALOG_CHANNEL = 'cf:catalog';
