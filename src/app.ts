/**
 * @module buildEdge: the edge as a Fastify instance, without listening — tests inject or listen on
 * port 0; main.ts listens. Every dependency with I/O (store, clock) is passed in.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Http2SecureServer } from 'node:http2';
import pino, { type Logger } from 'pino';
import { AccessLog } from './access-log.js';
import type { Config } from './config/schema.js';
import { ClientTimeout, HeadersTooLarge, Internal, MalformedRequest, ShuttingDown } from './errors.js';
import type { Resolve } from './fetch/destination.js';
import { FetchClient } from './fetch/fetch-client.js';
import { throttledWarnings } from './log-throttle.js';
import { type CacheStatusLabel, declareServiceSeries, initMetrics, recordRequest } from './metrics/metrics.js';
import { OriginClients } from './origin/client.js';
import { OriginHealth } from './origin/health.js';
import { originOutcomes } from './origin/outcome.js';
import { Coalescer } from './pipeline/coalesce.js';
import { deliverError, rawErrorResponse } from './pipeline/deliver.js';
import { type EdgeDeps, handleEdgeRequest } from './pipeline/edge-handler.js';
import { exchangeNotes } from './pipeline/exchange.js';
import { HitCounter } from './pipeline/hit-counter.js';
import { HitForMiss } from './pipeline/hit-for-miss.js';
import { ImageOptimiser, type ImageSink } from './pipeline/image-jobs.js';
import { VaryMemo } from './pipeline/lookup.js';
import { QuotaGauge } from './pipeline/quota.js';
import { RecvMemo } from './pipeline/recv.js';
import { BackgroundRefresh } from './pipeline/refresh.js';
import { serviceRuntimes } from './pipeline/service-runtime.js';
import { StoreWriter } from './pipeline/store-writer.js';
import { ServiceRegistry } from './services/registry.js';
import { MemoryStore } from './store/memory-store.js';
import { TieredStore } from './store/tiered-store.js';
import type { CacheStore, CoordinationStore, FillCoordination, RateLimitStore } from './store/types.js';
import type { TlsContexts } from './tls/contexts.js';
import { createEdgeSecureServer } from './tls/secure-server.js';
import { compileCidrs } from './waap/cidr.js';

export interface EdgeOptions {
  config: Config;
  store: CacheStore & Partial<RateLimitStore> & Partial<CoordinationStore>;
  now?: () => number;
  /** Where the edge logs (its access lines and warnings); none: nothing is logged. */
  logger?: Logger;
  /** How often hits are added to the LFU frequencies in the store (default 1 s). */
  hitFlushMs?: number;
  /**
   * Where images go to be optimised (serve's workers: the node's image worker); default: an
   * optimiser in this process.
   */
  images?: ImageSink;
  /** Recurring warnings (store down, an origin failing) are logged at most this often each (10 s). */
  warnIntervalMs?: number;
  /** HTTPS (config edge.tls): the certificates, already refreshed once. Absent: plain HTTP only. */
  tls?: TlsContexts;
  /** How fetch-by-URL resolves upstream names (default: the system's resolver); tests give their own. */
  resolve?: Resolve;
}

/** Work the edge does after responding: tests wait for it, metrics report it. */
export interface EdgeBackground {
  images: ImageSink;
  fills: () => number;
  waiting: () => number;
  flushHits: () => Promise<void>;
  /** Bytes the process's memos hold, against their budgets (docs/operations.md, "Memory budget"). */
  memos: () => Record<string, { bytes: number; max: number }>;
}

/**
 * The data plane: a plain `node:http` server whose every request goes to the pipeline. No router
 * and no framework on the hot path (the admin API, off it, keeps Fastify): each request costs
 * only the parse, the pipeline and the write.
 */
export interface EdgeApp {
  readonly server: Server;
  /** The HTTPS listener (HTTP/2 and HTTP/1.1), when the edge has one. */
  readonly tlsServer: Http2SecureServer | undefined;
  readonly log: Logger;
  readonly background: EdgeBackground;
  /** Starts listening; resolves with the address. */
  listen(options: { host: string; port: number }): Promise<string>;
  /** Starts the HTTPS listener; resolves with its address (https://…). */
  listenTls(options: { host: string; port: number }): Promise<string>;
  /**
   * After the certificates changed (TlsContexts.refresh): new handshakes get them; connections
   * already open keep theirs.
   */
  certificatesChanged(): void;
  /**
   * Stops taking requests, lets those in flight finish (requests arriving meanwhile on open
   * connections get 503 and the connection closed), then flushes hit counts and closes the pools.
   */
  close(): Promise<void>;
  /**
   * Serves another configuration's services from the next request on (its `edge` listener
   * settings need a restart): requests under way finish with the service they started with; a
   * removed service's hosts get 421; a service whose origin changed gets a new pool, the old one
   * finishing what it is doing.
   */
  reconfigure(next: Config): void;
}

export function buildEdge(options: EdgeOptions): EdgeApp {
  const { store } = options;
  // The configuration requests are served with; replaced whole by reconfigure.
  let config = options.config;
  const now = options.now ?? Date.now;
  // Leases and the circuit breaker need a store that coordinates nodes (every store cachefront makes).
  const coordination = store.acquireLease ? (store as CacheStore & CoordinationStore) : undefined;
  const log = options.logger ?? pino({ level: 'silent' });
  // Recurring warnings (Redis down: every lookup and store fails; an origin failing) at most once
  // per interval each, with how many were held back.
  const warn = throttledWarnings(log, options.warnIntervalMs);
  // A circuit that opens or closes is one line each, however many requests it affects.
  const health = coordination
    ? new OriginHealth(coordination, now, (change) =>
        change.state === 'open'
          ? log.warn(
              { service: change.service, failures: change.failures, probeAt: new Date(change.openUntil).toISOString() },
              'origin circuit opened: requests are answered stale or fail fast (503) until a probe succeeds',
            )
          : log.warn({ service: change.service }, 'origin circuit closed: requests go to the origin again'),
      )
    : undefined;
  const fetcher = new FetchClient(options.resolve, (service, reason, detail) =>
    warn.warn({ service, reason, detail }, 'fetch-by-URL refused'),
  );
  const origin = new OriginClients(originOutcomes(warn, health), fetcher);
  const hits = new HitCounter(
    store,
    now,
    (error) => warn.warn({ err: error }, 'recording hits and stats failed'),
    options.hitFlushMs,
  );
  const images =
    options.images ??
    new ImageOptimiser(
      store,
      now,
      (id) => config.services.find((service) => service.id === id),
      (error, job) => warn.warn({ err: error, service: job.service, url: job.url }, 'image left as the origin sent it'),
    );
  const hitForMiss = new HitForMiss({ store, now, info: (obj, msg) => log.info(obj, msg), warn: warn.warn });
  // One origin fetch per cold object across the fleet, where the store coordinates nodes.
  const fleet = 'onFillDone' in store ? (store as CacheStore & FillCoordination) : undefined;
  const coalescer = new Coalescer(
    { origin, writer: new StoreWriter({ store, now, images, warn: warn.warn }), hitForMiss, now, hits, chunks: store },
    fleet,
  );
  const varyMemo = new VaryMemo();
  const recvMemo = new RecvMemo();
  const memos = () => ({
    recv: { bytes: recvMemo.bytes, max: recvMemo.maxBytes },
    vary: { bytes: varyMemo.bytes, max: varyMemo.maxBytes },
    uncacheable: hitForMiss.bytes,
  });
  // The L1 (a node's own copy in front of Redis, or the embedded store) and the memos.
  const l1 = store instanceof TieredStore ? store.l1 : store instanceof MemoryStore ? store : undefined;
  const boundedStructures = () => ({
    ...(l1 ? { l1: { bytes: l1.usedBytes, max: l1.maxBytes } } : {}),
    ...memos(),
  });
  const deps: EdgeDeps = {
    services: ServiceRegistry.fromConfig(config),
    runtimeFor: serviceRuntimes(config.services),
    store,
    origin,
    coalescer,
    varyMemo,
    memo: recvMemo,
    limits: { maxUrlBytes: config.edge.maxUrlBytes, maxHeaderCount: config.edge.maxHeaderCount },
    maxBodyBytes: config.edge.maxBodyBytes,
    hits,
    quota: new QuotaGauge(store, now, warn.warn),
    trustedProxies: compileCidrs(config.edge.trustedProxies),
    ...(store.hit ? { rateLimits: store as RateLimitStore } : {}),
    ...(health ? { health } : {}),
    ...(coordination
      ? {
          refresh: new BackgroundRefresh(coalescer, coordination, now, (error, view) =>
            warn.warn({ err: error, service: view.service.id }, 'background refresh failed'),
          ),
        }
      : {}),
    now,
    log: { info: (obj: object, msg: string) => log.info(obj, msg), warn: warn.warn },
  };

  initMetrics({
    // Read at every scrape: the services a reload or the catalog added are there too.
    get services() {
      return config.services.map((s) => s.id);
    },
    read: async (id) => {
      const service = config.services.find((s) => s.id === id) as (typeof config.services)[number];
      const [stats, circuit] = await Promise.all([store.readStats(id), health?.state(service)]);
      return {
        entries: stats.entries ?? 0,
        bytes: stats.bytesStored ?? 0,
        circuitOpen: circuit?.state === 'open',
        quotaBytes: service.cache.quota.bytes,
      };
    },
    bounded: () => boundedStructures(),
    ...(options.tls
      ? {
          certificates: () =>
            (options.tls as TlsContexts).list().map((c) => ({ service: c.service, notAfter: c.info.notAfter })),
        }
      : {}),
  });
  let accessLog = config.edge.accessLog ? new AccessLog(log) : undefined;
  /** The edge's own 5xx answers (origin down, unreachable, internal) count in the service's stats. */
  const countError = (serviceId: string) => {
    const service = deps.services.byId.get(serviceId);
    if (service) hits.count(service, 'errors');
  };

  // Every method Node's parser accepts reaches the pipeline (WebDAV, SSDP, QUERY…): it passes what
  // it does not cache to the origin, as RFC 9110 §9.1 asks of an intermediary. The request target
  // reaches it as sent, absolute form included (RFC 9112 §3.2.2); bodies stream to the origin.
  let closing = false;
  const handle = (raw: IncomingMessage, res: ServerResponse) => {
    if (closing) {
      res.shouldKeepAlive = false;
      deliverError(res, ShuttingDown());
      return;
    }
    const started = performance.now();
    res.once('close', () => recordExchange(raw, res, started, log, accessLog, countError));
    handleEdgeRequest(raw, res, deps).catch((error: unknown) => {
      log.error({ err: error, url: raw.url }, 'request failed inside the edge');
      if (!res.headersSent) deliverError(res, Internal());
      else res.destroy();
    });
  };
  const server = createServer(
    // requireHostHeader off: a request without Host reaches recv and gets the edge's own 400
    // (CF_ERR_MISSING_HOST) rather than Node's bare one. The head (request line and headers) is
    // bounded by maxHeaderSize: Node answers beyond it through clientError below. Idle keep-alive
    // connections live 72 s, longer than the 60 s load balancers keep theirs, so the balancer
    // closes first and never sends on a connection the edge is closing.
    { maxHeaderSize: config.edge.maxHeaderBytes, requireHostHeader: false, keepAliveTimeout: 72_000 },
    handle,
  );
  const tls = options.tls && config.edge.tls ? { contexts: options.tls, settings: config.edge.tls } : undefined;
  const secure = tls
    ? createEdgeSecureServer(
        {
          settings: tls.settings,
          contexts: tls.contexts,
          maxHeaderCount: config.edge.maxHeaderCount,
          maxHeaderBytes: config.edge.maxHeaderBytes,
          onAbuse: (what, address) => warn.warn({ what, address }, 'HTTP/2 connection closed for abuse'),
        },
        handle,
      )
    : undefined;
  const tlsServer = secure?.server;
  // Requests Node's parser refuses never reach the pipeline: they get the edge's own error format.
  server.on('clientError', (error: Error & { code?: string }, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const answer =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? HeadersTooLarge(String(config.edge.maxHeaderBytes))
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? ClientTimeout()
          : MalformedRequest(error.code ?? 'parse error');
    if (socket.writable) socket.write(rawErrorResponse(answer));
    socket.destroy();
  });
  const background: EdgeBackground = {
    images,
    fills: () => coalescer.inFlight,
    waiting: () => coalescer.waiting,
    flushHits: () => hits.flush(),
    memos,
  };
  const listenOn = (target: Server | Http2SecureServer, scheme: string, host: string, port: number) =>
    new Promise<string>((resolve, reject) => {
      target.once('error', reject);
      target.listen(port, host, () => {
        target.off('error', reject);
        const address = target.address();
        resolve(typeof address === 'string' ? address : `${scheme}://${address?.address}:${address?.port}`);
      });
    });
  const app: EdgeApp = {
    server,
    tlsServer,
    log,
    background,
    listen: ({ host, port }) => listenOn(server, 'http', host, port),
    listenTls: ({ host, port }) => {
      if (!tlsServer) return Promise.reject(new Error('this edge has no TLS listener (edge.tls)'));
      return listenOn(tlsServer, 'https', host, port);
    },
    certificatesChanged: () => {
      const fallback = tls?.contexts.fallbackPair;
      if (!tlsServer || !tls) return;
      // The listener's own context serves clients without SNI: the default certificate, or none.
      tlsServer.setSecureContext({
        ...(fallback ? { cert: fallback.cert, key: fallback.key } : {}),
        minVersion: tls.settings.minVersion,
        ciphers: tls.settings.ciphers,
        honorCipherOrder: true,
        ...(tls.contexts.currentTicketKeys ? { ticketKeys: tls.contexts.currentTicketKeys } : {}),
      });
    },
    reconfigure: (next) => {
      const known = new Set(config.services.map((s) => s.id));
      config = next;
      deps.services = ServiceRegistry.fromConfig(next);
      deps.runtimeFor = serviceRuntimes(next.services);
      deps.limits = { maxUrlBytes: next.edge.maxUrlBytes, maxHeaderCount: next.edge.maxHeaderCount };
      deps.maxBodyBytes = next.edge.maxBodyBytes;
      deps.trustedProxies = compileCidrs(next.edge.trustedProxies);
      if (next.edge.accessLog !== Boolean(accessLog)) accessLog = next.edge.accessLog ? new AccessLog(log) : undefined;
      for (const service of next.services) if (!known.has(service.id)) declareServiceSeries(service.id);
      // Resolutions remember the service a URL resolved to: forgotten, so the next request resolves anew.
      recvMemo.clear();
      origin.reconfigure(next.services);
    },
    close: async () => {
      if (!closing) {
        closing = true;
        const tlsClosed = new Promise<void>((resolve) => {
          if (!tlsServer?.listening) return resolve();
          tlsServer.close(() => resolve());
          secure?.drain();
        });
        await new Promise<void>((resolve) => {
          if (!server.listening) return resolve();
          // Connections left idle after their last response are closed as they go idle.
          const idle = setInterval(() => server.closeIdleConnections(), 50);
          server.close(() => {
            clearInterval(idle);
            resolve();
          });
          server.closeIdleConnections();
        });
        await tlsClosed;
        deps.quota?.close();
        await hits.close();
        await origin.close();
      }
    },
  };
  return app;
}

/**
 * The end of an exchange: its metrics, and one JSON access-log line — service, cache status, key
 * hash, status, bytes, times. Never a header value (no cookie, no Authorization) and never the
 * query string (it may carry tokens).
 */
function recordExchange(
  req: IncomingMessage,
  res: ServerResponse,
  started: number,
  log: Logger,
  accessLog: AccessLog | undefined,
  countError: (service: string) => void,
): void {
  const notes = exchangeNotes(res);
  if (notes.errorCode !== undefined && res.statusCode >= 500 && notes.service) countError(notes.service);
  const service = notes.service ?? 'none';
  const header = notes.cacheStatus;
  // Synthetic 5xx (origin down, internal) are errors whatever their X-Cache-Status says.
  const status: CacheStatusLabel =
    (notes.errorCode !== undefined && res.statusCode >= 500) || !header
      ? 'error'
      : (header.toLowerCase() as CacheStatusLabel);
  const seconds = (performance.now() - started) / 1000;
  recordRequest(service, status, seconds);
  // At debug level, the states the pipeline took (edge-handler's diagram), one line per request.
  if (notes.states && log.isLevelEnabled('debug')) {
    log.debug({ service, key: notes.key ?? null, states: notes.states.join(' > ') }, 'pipeline');
  }
  if (!accessLog?.enabled) return;
  accessLog.write({
    service,
    method: req.method,
    path: notes.path,
    key: notes.key,
    cacheStatus: header,
    status: res.statusCode,
    bytes: notes.bytes,
    durationMs: Math.round(seconds * 100_000) / 100,
    originMs: notes.originMs === undefined ? undefined : Math.round(notes.originMs * 100) / 100,
    error: notes.errorCode,
    aborted: !res.writableFinished,
  });
}
