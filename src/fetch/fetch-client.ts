/**
 * @module The upstream side of fetch-by-URL: every hop checked before anything is sent. A URL (and
 * each redirect's Location) must pass the service's allow-list and form checks, its name must
 * resolve only to public addresses (or the operator's `privateNetworks`), and the connection goes
 * to the address that was checked — the pool's own lookup answers with it, so no second resolution
 * can rebind the name to an internal address between the check and the connection. Redirects are
 * followed here, up to `maxRedirects`, so the client gets the artefact and the cache stores it
 * under the URL that was asked for.
 */
import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import type { BlockList } from 'node:net';
import { Pool } from 'undici';
import type { ServiceConfig } from '../config/schema.js';
import { type CachefrontError, FetchRefused } from '../errors.js';
import { type FetchRefusal, metrics } from '../metrics/metrics.js';
import { type OriginRequest, type OriginResponse, originError } from '../origin/client.js';
import type { Headers } from '../origin/hop-by-hop.js';
import { checkUrl, destinationOf, type Resolve } from './destination.js';

/** What a fetch-by-URL request carries to the origin layer: where, and what the service allows. */
export interface FetchUpstream {
  url: URL;
  allow: readonly string[];
  privateNetworks: BlockList | undefined;
  maxRedirects: number;
}

/** The system's resolver: every address of a name, in the order the system gives them. */
export const systemResolve: Resolve = (hostname) => lookup(hostname, { all: true, verbatim: true });

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Pools kept at most (each is one upstream origin at one checked address); the oldest goes first. */
const MAX_POOLS = 256;

type LookupCallback = (error: Error | null, address: string | LookupAddress[], family?: number) => void;

/** A lookup that answers with the address already checked, whatever name it is asked about. */
function pinnedLookup(address: string, family: number) {
  return (_hostname: string, options: { all?: boolean }, callback: LookupCallback) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

export class FetchClient {
  private readonly pools = new Map<string, Pool>();

  constructor(
    private readonly resolve: Resolve = systemResolve,
    /** Told of each refusal on the way to an upstream (the edge logs them, throttled). */
    private readonly onRefused?: (service: string, reason: FetchRefusal, detail: string) => void,
  ) {}

  async request(service: ServiceConfig, upstream: FetchUpstream, req: OriginRequest): Promise<OriginResponse> {
    let url = upstream.url;
    for (let hop = 0; ; hop++) {
      const resolve = timeLimited(this.resolve, service.origin.connectTimeoutMs);
      const destination = await destinationOf(url, resolve, upstream.privateNetworks);
      if (!destination.ok) throw this.refused(service, hop === 0 ? 'address' : 'redirect', destination.detail);
      const pool = this.poolFor(service, url, destination.value);
      let response: Awaited<ReturnType<Pool['request']>>;
      try {
        response = await pool.request({
          method: 'GET',
          path: `${url.pathname}${url.search}`,
          headers: { ...(req.headers as Record<string, string | string[]>), host: url.host },
          signal: req.signal,
          ...(req.onInfo ? { onInfo: req.onInfo } : {}),
        });
      } catch (error) {
        throw originError(service.id, error);
      }
      const location = response.headers.location;
      if (!REDIRECTS.has(response.statusCode) || typeof location !== 'string') {
        return {
          status: response.statusCode,
          headers: withoutHostEffects(response.headers as Headers),
          body: response.body,
        };
      }
      // The redirect's own body is not wanted: read to its end, so the connection is reused.
      response.body.resume();
      if (hop >= upstream.maxRedirects)
        throw this.refused(
          service,
          'redirect',
          `more than ${upstream.maxRedirects} redirects from ${upstream.url.host}`,
        );
      const next = nextHop(url, location, upstream.allow);
      if (typeof next === 'string') throw this.refused(service, 'redirect', next);
      url = next;
    }
  }

  /** A refusal on the way to the upstream: counted (cachefront_fetch_refusals_total), told, thrown. */
  private refused(service: ServiceConfig, reason: FetchRefusal, detail: string): CachefrontError {
    metrics.fetchRefusals.inc({ service: service.id, reason });
    this.onRefused?.(service.id, reason, detail);
    return FetchRefused(detail);
  }

  /** A pool per upstream origin and checked address, its connections made to that address only. */
  private poolFor(service: ServiceConfig, url: URL, to: { address: string; family: number }): Pool {
    const key = `${service.id}\n${url.origin}\n${to.address}`;
    let pool = this.pools.get(key);
    if (pool) return pool;
    pool = new Pool(url.origin, {
      connections: service.origin.maxConnections,
      connectTimeout: service.origin.connectTimeoutMs,
      headersTimeout: service.origin.responseTimeoutMs,
      bodyTimeout: service.origin.responseTimeoutMs,
      keepAliveTimeout: 30_000,
      connect: { lookup: pinnedLookup(to.address, to.family) },
    });
    this.pools.set(key, pool);
    if (this.pools.size > MAX_POOLS) {
      const [oldestKey, oldest] = this.pools.entries().next().value as [string, Pool];
      this.pools.delete(oldestKey);
      oldest.close().catch(() => undefined);
    }
    return pool;
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.destroy()));
    this.pools.clear();
  }
}

/**
 * Response fields that act on the host a response is served from, not on the response: from a third
 * party's URL served under the service's host they would set its cookies, pin its HTTPS, wipe its
 * visitors' data, move its traffic or widen a service worker's reach. Dropped.
 */
const HOST_EFFECTS = [
  'set-cookie',
  'set-cookie2',
  'strict-transport-security',
  'clear-site-data',
  'alt-svc',
  'service-worker-allowed',
  'public-key-pins',
  'public-key-pins-report-only',
  'refresh',
];

function withoutHostEffects(headers: Headers): Headers {
  for (const name of HOST_EFFECTS) delete headers[name];
  return headers;
}

/** A resolver that gives up after `ms` (a name server that never answers must not hold a fill). */
function timeLimited(resolve: Resolve, ms: number): Resolve {
  return (hostname) =>
    new Promise((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`no answer in ${ms} ms`)), ms);
      resolve(hostname).then(
        (addresses) => {
          clearTimeout(timer);
          done(addresses);
        },
        (error: unknown) => {
          clearTimeout(timer);
          fail(error);
        },
      );
    });
}

/**
 * A redirect's target, checked as the first URL was (form, allow-list; its address is checked
 * next), or why it is refused.
 */
function nextHop(from: URL, location: string, allow: readonly string[]): URL | string {
  let next: string;
  try {
    next = new URL(location, from).href;
  } catch {
    return `a redirect from ${from.host} to an invalid URL`;
  }
  const checked = checkUrl(next, allow);
  if (!checked.ok) return `a redirect from ${from.host}: ${checked.detail}`;
  return checked.value;
}
