/**
 * @module Fetch-by-URL's front door (docs/large-objects.md, "Fetch-by-URL"): a request for the
 * service's fetch path becomes the edge's view of a request for the URL it names, and from there
 * the ordinary pipeline serves it — lookup, one coalesced fill, chunked storage, ranges, stale
 * answers, the service's caps and quota. What differs is decided here:
 *   - who may ask: the client's address must be in `fetch.clients` (403 otherwise);
 *   - what may be fetched: the URL's form and the allow-list now, its addresses when it is fetched
 *     (fetch-client.ts), before any request;
 *   - how long it stays: `ttl=`, bounded by `maxTtlMs`, applied as an edge TTL rule would be;
 *   - what the upstream learns: none of the client's credentials, cookies or addresses — the view
 *     keeps only the fields that choose a representation or a part of it.
 * The key is the URL's own (scheme, host, path and query as sent), in a space of its own: a fetched
 * `https://a.example/x` never shares an entry with the service's own `a.example/x`.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { BlockList } from 'node:net';
import type { FetchConfig } from '../config/fetch.js';
import { type CachefrontError, FetchBadRequest, FetchNotAllowed, FetchRefused } from '../errors.js';
import { type PrimaryKey, primaryKey } from '../key/cache-key.js';
import type { FetchRefusal } from '../metrics/metrics.js';
import type { RequestView } from '../pipeline/recv.js';
import type { CompiledRule, MatchedRules } from '../rules/match.js';
import type { CacheRule } from '../rules/schema.js';
import { compileCidrs, contains } from '../waap/cidr.js';
import { checkUrl } from './destination.js';

/** A service's fetch mode, compiled with its runtime. */
export interface FetchRoute {
  config: FetchConfig;
  /** Its path, and KissCache's. */
  paths: ReadonlySet<string>;
  clients: BlockList;
  privateNetworks: BlockList | undefined;
}

/** KissCache's API path, answered beside the configured one. */
const KISSCACHE_PATHS = ['/api/v1/fetch/', '/api/v1/fetch'];

export function compileFetchRoute(config: FetchConfig | undefined): FetchRoute | undefined {
  if (!config) return undefined;
  return {
    config,
    paths: new Set([config.path, ...KISSCACHE_PATHS]),
    clients: compileCidrs(config.clients) as BlockList,
    privateNetworks: compileCidrs(config.privateNetworks),
  };
}

/**
 * The client's fields a fetched request keeps: content negotiation (the upstream may vary on it),
 * conditionals and ranges (answered by the edge), and the client's cache directives.
 */
const KEPT_FIELDS = [
  'accept',
  'accept-encoding',
  'accept-language',
  'user-agent',
  'range',
  'if-range',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'cache-control',
  'pragma',
];

const DURATION = /^(\d{1,9})\s*([smhd]?)$/i;
const UNIT_MS: Record<string, number> = { '': 1000, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `ttl=`: seconds, or a number with s, m, h or d (KissCache's `1d`); cut to the maximum. */
export function requestedTtl(raw: string | null, config: FetchConfig): number | CachefrontError {
  if (raw === null) return config.defaultTtlMs;
  const match = DURATION.exec(raw.trim());
  if (!match) return FetchBadRequest(`ttl "${raw.slice(0, 40)}" is not a duration such as 3600, 90m, 12h or 1d`);
  const ms = Number(match[1]) * (UNIT_MS[(match[2] as string).toLowerCase()] as number);
  return Math.min(ms, config.maxTtlMs);
}

/** The TTL as the rule the response decision applies (edgeTtl), named in Cache-Status. */
function ttlRule(ms: number): MatchedRules {
  const rule: CacheRule = { match: {}, bypass: false, edgeTtl: ms };
  const compiled: CompiledRule = {
    name: `fetch ttl=${Math.floor(ms / 1000)}s`,
    rule,
    onRequest: () => true,
    onResponse: undefined,
  };
  return { request: undefined, candidates: [compiled] };
}

/** The query's raw text, as the client sent it (the key's normalised form may re-order it). */
function rawQuery(url: string): URLSearchParams {
  const start = url.indexOf('?');
  const hash = url.indexOf('#');
  return new URLSearchParams(start === -1 ? '' : url.slice(start + 1, hash === -1 ? undefined : hash));
}

/**
 * A fetched URL's key: the URL as parsed (scheme, host and port, path, query in its order), in a
 * key space of its own — "scheme://host" is never a Host the edge accepts.
 */
export function fetchedPrimary(service: string, url: URL): PrimaryKey {
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const primary = primaryKey({
    service,
    scheme,
    authority: `${scheme}://${url.host}`,
    methodClass: 'GET',
    path: url.pathname,
    query: url.search.slice(1),
  });
  return { ...primary, readable: `FETCH ${url.origin}${url.pathname}${url.search}` };
}

/**
 * The key of the URL a fetch-by-URL request names, when `view` is such a request (the admin API
 * purges a fetched object by the request that fetched it).
 */
export function fetchedPrimaryOf(view: RequestView, requestUrl: string): PrimaryKey | undefined {
  if (!view.runtime.fetch?.paths.has(view.target.path)) return undefined;
  const asked = rawQuery(requestUrl).get('url');
  if (!asked) return undefined;
  try {
    return fetchedPrimary(view.service.id, new URL(asked));
  } catch {
    return undefined;
  }
}

export type FetchViewResult =
  | { ok: true; view: RequestView }
  | { ok: false; error: CachefrontError; reason: FetchRefusal };

/** The view of the request for the URL a fetch-by-URL request names, or why there is none. */
export function fetchView(req: IncomingMessage, route: FetchRoute, base: RequestView): FetchViewResult {
  const { config } = route;
  if (!contains(route.clients, base.clientIp)) {
    return { ok: false, error: FetchNotAllowed(base.service.id), reason: 'client' };
  }
  if (base.method !== 'GET' && base.method !== 'HEAD') {
    return { ok: false, error: FetchBadRequest(`${base.method} is not fetched (GET or HEAD)`), reason: 'request' };
  }
  // A service worker's script gets the scope of its path's directory — the whole host here.
  if (base.headers['service-worker'] !== undefined) {
    return { ok: false, error: FetchRefused('a service worker is never fetched from another site'), reason: 'request' };
  }
  const params = rawQuery(req.url ?? '');
  const asked = params.get('url');
  if (asked === null || asked === '') {
    return { ok: false, error: FetchBadRequest('the request names no url='), reason: 'request' };
  }
  const ttl = requestedTtl(params.get('ttl'), config);
  if (typeof ttl !== 'number') return { ok: false, error: ttl, reason: 'request' };
  const checked = checkUrl(asked, config.allow);
  if (!checked.ok) return { ok: false, error: FetchRefused(checked.detail), reason: 'url' };
  const url = checked.value;
  url.hash = '';
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const target = { path: url.pathname, query: url.search.slice(1) };
  const headers: IncomingHttpHeaders = { host: url.host };
  for (const name of KEPT_FIELDS) {
    const value = base.headers[name];
    if (value !== undefined) (headers as Record<string, string | string[]>)[name] = value;
  }
  return {
    ok: true,
    // In the order recv builds its views: one hidden class for both.
    view: {
      method: base.method,
      scheme,
      headers,
      service: base.service,
      runtime: base.runtime,
      authority: url.host,
      target,
      primary: fetchedPrimary(base.service.id, url),
      clientIp: base.clientIp,
      rules: ttlRule(ttl),
      upstream: {
        url,
        allow: config.allow,
        privateNetworks: route.privateNetworks,
        maxRedirects: config.maxRedirects,
      },
    },
  };
}
