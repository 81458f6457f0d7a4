/**
 * @module Keep-alive connection pools to each service's origin (undici), with the service's connect
 * and response timeouts, and the mapping of transport failures to CF_ERR_ORIGIN_* errors.
 */
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import type { ServiceConfig } from '../config/schema.js';
import { type CachefrontError, OriginBroken, OriginConnect, OriginTimeout } from '../errors.js';
import type { FetchClient, FetchUpstream } from '../fetch/fetch-client.js';
import type { Headers } from './hop-by-hop.js';

export interface OriginRequest {
  method: string;
  /** Path and query as the key saw them; the origin's base path is prepended here. */
  target: string;
  headers: Headers;
  body?: Readable | null;
  signal?: AbortSignal;
  /** Informational (1xx) responses that arrive before the final one, e.g. 103 Early Hints. */
  onInfo?: (info: { statusCode: number; headers: Record<string, string | string[]> }) => void;
  /**
   * A fetch-by-URL request: sent to this URL's upstream (checked hop by hop) rather than to the
   * service's origin, and kept out of the origin's health (a third party's failures are not its).
   */
  upstream?: FetchUpstream | undefined;
}

export interface OriginResponse {
  status: number;
  headers: Headers;
  body: Readable;
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNRESET']);

/** Turns an undici or socket error into the edge's own error, keeping the original as `cause`. */
export function originError(serviceId: string, error: unknown): CachefrontError {
  const code = (error as { code?: string }).code ?? '';
  const made = TIMEOUT_CODES.has(code)
    ? OriginTimeout(serviceId)
    : CONNECT_CODES.has(code)
      ? OriginConnect(serviceId)
      : OriginBroken(serviceId);
  return Object.assign(made, { cause: error });
}

class OriginPool {
  private readonly pool: Pool;
  private readonly basePath: string;
  constructor(private readonly service: ServiceConfig) {
    const url = new URL(service.origin.url);
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.pool = new Pool(url.origin, {
      connections: service.origin.maxConnections,
      connectTimeout: service.origin.connectTimeoutMs,
      headersTimeout: service.origin.responseTimeoutMs,
      bodyTimeout: service.origin.responseTimeoutMs,
      keepAliveTimeout: 30_000,
    });
  }

  async request(req: OriginRequest): Promise<OriginResponse> {
    try {
      const res = await this.pool.request({
        method: req.method as 'GET',
        path: this.basePath + req.target,
        headers: req.headers as Record<string, string | string[]>,
        body: req.body ?? null,
        signal: req.signal,
        ...(req.onInfo ? { onInfo: req.onInfo } : {}),
      });
      return { status: res.statusCode, headers: res.headers as Headers, body: res.body };
    } catch (error) {
      throw originError(this.service.id, error);
    }
  }

  /** Ends the pool at once: requests still running (no client waits for them any more) are aborted. */
  close(): Promise<void> {
    return this.pool.destroy();
  }

  /** Takes no new requests and closes once those under way have ended (a reload replaced it). */
  retire(): Promise<void> {
    return this.pool.close();
  }
}

/** How an origin exchange ended, for the circuit breaker: a response status, or an error. */
export type OriginOutcome = ({ status: number } | { error: unknown }) & { seconds: number };

/** A service's pool key: its id and origin settings, computed once per configuration's service. */
const poolKeys = new WeakMap<ServiceConfig, string>();
function poolKey(service: ServiceConfig): string {
  let key = poolKeys.get(service);
  if (key === undefined) {
    key = `${service.id}\n${JSON.stringify(service.origin)}`;
    poolKeys.set(service, key);
  }
  return key;
}

/** One pool per service, created on first use and closed together. */
export class OriginClients {
  /** By service and origin settings (poolKey). */
  private readonly pools = new Map<string, OriginPool>();
  /** Keys a reload replaced: a request still holding such a service gets a pool for itself. */
  private readonly retired = new Set<string>();

  constructor(
    private readonly onOutcome?: (service: ServiceConfig, outcome: OriginOutcome) => void,
    /** Fetch-by-URL's upstreams (fetch/fetch-client.ts); without it such requests are refused. */
    private readonly fetcher?: FetchClient,
  ) {}

  async request(service: ServiceConfig, req: OriginRequest): Promise<OriginResponse> {
    if (req.upstream) {
      if (!this.fetcher) throw new Error('fetch-by-URL needs a FetchClient');
      return this.fetcher.request(service, req.upstream, req);
    }
    const key = poolKey(service);
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new OriginPool(service);
      // A request resolved before a reload that replaced its origin: a pool of its own, closed
      // once it is done, so the configuration it started with does not come back.
      if (this.retired.has(key)) {
        const once = pool;
        try {
          return await this.timedRequest(service, once, req);
        } finally {
          once.retire().catch(() => undefined);
        }
      }
      this.pools.set(key, pool);
    }
    return this.timedRequest(service, pool, req);
  }

  private async timedRequest(service: ServiceConfig, pool: OriginPool, req: OriginRequest): Promise<OriginResponse> {
    const started = performance.now();
    try {
      const response = await pool.request(req);
      this.onOutcome?.(service, { status: response.status, seconds: (performance.now() - started) / 1000 });
      return response;
    } catch (error) {
      this.onOutcome?.(service, { error, seconds: (performance.now() - started) / 1000 });
      throw error;
    }
  }

  /**
   * A new configuration: a service removed, or whose origin settings changed, loses its pool; the
   * old pool finishes the requests under way and closes, new requests get a new pool.
   */
  reconfigure(services: readonly ServiceConfig[]): void {
    const kept = new Set(services.map(poolKey));
    for (const [key, pool] of this.pools) {
      if (kept.has(key)) continue;
      this.pools.delete(key);
      this.retired.add(key);
      pool.retire().catch(() => undefined);
    }
    for (const key of kept) this.retired.delete(key);
  }

  /** Called once the edge no longer answers anyone (its server is closed): nothing is left to wait for. */
  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.close()));
    this.pools.clear();
    await this.fetcher?.close();
  }
}
