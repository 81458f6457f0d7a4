/**
 * @module The admin listener (loopback by default), apart from the data plane: health and
 * readiness for load balancers, and the admin API under /v1 behind bearer tokens (operator tokens
 * for every service, service tokens for one), answering JSON errors with stable codes.
 */
import { createRequire } from 'node:module';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { ReloadResult } from '../config/live-config.js';
import type { Config } from '../config/schema.js';
import { BadCursor, CachefrontError } from '../errors.js';
import { fetchedPrimaryOf } from '../fetch/fetch-view.js';
import { metrics, register } from '../metrics/metrics.js';
import { OriginHealth } from '../origin/health.js';
import { serviceRuntimes } from '../pipeline/service-runtime.js';
import { ServiceRegistry } from '../services/registry.js';
import { purgeMatching, purgeUrl } from '../store/bulk-purge.js';
import { type EntryFilter, type EntrySummary, filterFingerprint } from '../store/entry-index.js';
import type { CacheStore, CoordinationStore } from '../store/types.js';
import { compileCidrs, contains } from '../waap/cidr.js';
import { type Caller, mayAccess, TokenAuthority } from './auth.js';
import { type CertificateAccess, certificateRoutes } from './certificate-routes.js';
import { type CatalogAccess, configRoutes } from './config-routes.js';
import { explain, viewOf } from './explain.js';
import { buildOpenApi } from './openapi.js';
import { badInput, fail } from './replies.js';
import {
  explainBody,
  listQuery,
  type listResponse,
  type purgeResponse,
  receiptParams,
  serviceParams,
  servicePurgeBody,
  toStoreFilter,
  urlPurgeBody,
} from './schemas.js';

const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

export interface AdminOptions {
  /** The configuration, or where to read the running one (reloads and the catalog change it). */
  config: Config | (() => Config);
  store: CacheStore;
  /** Checks the store answers; readiness fails while it does not. */
  storeReady: () => Promise<boolean>;
  storeKind: 'redis' | 'embedded';
  logger?: FastifyBaseLogger | boolean;
  /** Reloads the configuration file (POST /v1/reload); absent: the API says reloads are not available. */
  reload?: () => Promise<ReloadResult>;
  /** Services as data (config `catalog`): the catalog, the process's configuration, when a node counts as gone. */
  catalog?: CatalogAccess;
  /** HTTPS (config edge.tls): certificates set through the API, and what this process serves. */
  certificates?: CertificateAccess;
}

/** What the admin API derives from one configuration: rebuilt when the configuration changes. */
function derive(config: Config) {
  return {
    config,
    authority: new TokenAuthority(config.admin.tokens),
    allow: compileCidrs(config.admin.allow),
    services: new Set(config.services.map((s) => s.id)),
    registry: ServiceRegistry.fromConfig(config),
    runtimeFor: serviceRuntimes(config.services),
    serviceConfig: new Map(config.services.map((s) => [s.id, s])),
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

/** Who acted, for the audit log: the scope of the token, never the token. */
function who(caller: Caller): string {
  return caller.kind === 'operator' ? 'operator' : `service:${caller.service}`;
}

/**
 * Listing cursors carry the store's position and a fingerprint of the filter, so a cursor is
 * never silently applied to another filter.
 */
function wrapCursor(filter: EntryFilter, position: string | undefined): string | null {
  if (position === undefined) return null;
  return Buffer.from(JSON.stringify({ f: filterFingerprint(filter), p: position })).toString('base64url');
}

function unwrapCursor(filter: EntryFilter, token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  try {
    const { f, p } = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { f?: unknown; p?: unknown };
    if (f === filterFingerprint(filter) && typeof p === 'string') return p;
  } catch {
    // refused below
  }
  throw BadCursor();
}

function listItem(entry: EntrySummary, now: number): z.input<typeof listResponse>['items'][number] {
  return {
    key: entry.hash,
    url: entry.url,
    path: entry.path,
    variant: Object.fromEntries(entry.variant),
    contentType: entry.contentType,
    status: entry.status,
    size: entry.size,
    sizes: entry.sizes,
    representations: entry.representations,
    tags: entry.tags,
    storedAt: new Date(entry.storedAt).toISOString(),
    freshUntil: new Date(entry.staleAt).toISOString(),
    expiresAt: new Date(entry.deleteAt).toISOString(),
    fresh: entry.staleAt > now,
    hits: entry.hits,
  };
}

export function buildAdmin(options: AdminOptions): FastifyInstance {
  const { store } = options;
  const running = typeof options.config === 'function' ? options.config : () => options.config as Config;
  let derived = derive(running());
  /** What the running configuration says, derived once per configuration. */
  const current = () => {
    const config = running();
    if (config !== derived.config) derived = derive(config);
    return derived;
  };
  const app = Fastify(
    typeof options.logger === 'object' ? { loggerInstance: options.logger } : { logger: options.logger ?? false },
  );
  app.addHook('onRequest', async (request, reply) => {
    const { allow } = current();
    if (allow && !contains(allow, request.socket.remoteAddress ?? '')) {
      return fail(reply, 403, 'CF_ERR_ADMIN_FORBIDDEN', 'this address may not use the admin listener');
    }
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  // This process's metrics (under `cachefront serve`, the primary's metrics listener has all workers').
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', register.contentType);
    return register.metrics();
  });
  app.get('/readyz', async (_request, reply) => {
    const ready = await options.storeReady().catch(() => false);
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'store unavailable', store: options.storeKind });
  });

  const health =
    'acquireLease' in store ? new OriginHealth(store as CacheStore & CoordinationStore, Date.now) : undefined;
  /** The origin's circuit, as every edge node sees it (shared through the store). */
  const originState = async (service: string) => {
    const found = current().serviceConfig.get(service);
    if (!health || !found) return { state: 'closed' as const, failures: 0, openUntil: null };
    const { state, failures, openUntil } = await health.state(found);
    return { state, failures, openUntil: openUntil === 0 ? null : new Date(openUntil).toISOString() };
  };
  const openapi = buildOpenApi(VERSION);
  app.get('/openapi.json', async () => openapi);
  // Every API route is in the OpenAPI document, or the listener refuses to start.
  const routes: string[] = [];
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/v1')) return;
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push(`${method} ${route.url}`);
  });
  app.addHook('onReady', async () => {
    const paths = openapi.paths as Record<string, Record<string, unknown>>;
    const missing = routes.filter((route) => {
      const [method, url] = route.split(' ') as [string, string];
      return !paths[url.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()];
    });
    if (missing.length > 0) throw new Error(`admin routes missing from the OpenAPI document: ${missing.join(', ')}`);
  });

  // The API lives in its own encapsulated scope, so its auth hook never reaches health checks.
  app.register(
    async (api) => {
      api.setErrorHandler((error, request, reply) => {
        if (error instanceof CachefrontError) return fail(reply, error.statusCode, error.code, error.message);
        const status = (error as { statusCode?: number }).statusCode;
        if (status !== undefined && status >= 400 && status < 500) {
          return fail(reply, status, 'CF_ERR_ADMIN_BAD_INPUT', (error as Error).message);
        }
        request.log.error({ err: error }, 'admin request failed');
        return fail(reply, 500, 'CF_ERR_INTERNAL', 'internal error in the admin API');
      });

      api.addHook('onRequest', async (request, reply) => {
        const caller = current().authority.identify(request.headers.authorization);
        if (!caller) {
          reply.header('www-authenticate', 'Bearer');
          return fail(reply, 401, 'CF_ERR_ADMIN_UNAUTHENTICATED', 'a valid bearer token is required');
        }
        request.caller = caller;
      });

      /**
       * The service a /services/{service}/… request names, once the caller may act on it. A
       * service token learns nothing about other services: 403 whether they exist or not.
       */
      const scoped = (request: FastifyRequest, reply: FastifyReply): string | undefined => {
        const caller = request.caller as Caller;
        const params = serviceParams.safeParse({ service: (request.params as { service?: unknown }).service });
        const service = params.success ? params.data.service : undefined;
        if (service === undefined || !mayAccess(caller, service)) {
          if (caller.kind === 'operator') fail(reply, 404, 'CF_ERR_ADMIN_UNKNOWN_SERVICE', 'no such service');
          else fail(reply, 403, 'CF_ERR_ADMIN_FORBIDDEN', 'this token may not act on that service');
          return undefined;
        }
        if (!current().services.has(service)) {
          fail(reply, 404, 'CF_ERR_ADMIN_UNKNOWN_SERVICE', 'no such service');
          return undefined;
        }
        return service;
      };

      configRoutes(api, { current: running, reload: options.reload, catalog: options.catalog });

      certificateRoutes(api, { current: running, certificates: options.certificates, scoped });

      api.get('/services', async (request) => {
        const caller = request.caller as Caller;
        return {
          services: current()
            .config.services.filter((s) => mayAccess(caller, s.id))
            .map((s) => ({ id: s.id, hosts: [...s.hosts] })),
        };
      });

      api.get('/services/:service/entries', async (request, reply) => {
        const service = scoped(request, reply);
        if (service === undefined) return reply;
        const input = listQuery.safeParse(request.query);
        if (!input.success) return badInput(reply, input.error);
        const { limit, cursor, ...filterInput } = input.data;
        const filter = toStoreFilter(filterInput);
        const now = Date.now();
        const page = await store.listEntries(
          service,
          { filter, cursor: unwrapCursor(filter, cursor), limit, mode: 'items' },
          now,
        );
        return {
          service,
          items: page.items.map((entry) => listItem(entry, now)),
          nextCursor: wrapCursor(filter, page.cursor),
          scanned: page.scanned,
          healed: page.healed,
        };
      });

      /** One URL, every variant: removed (announced to every L1 by the store), or soft-purged. */
      const purgeOneUrl = async (service: string, primary: string, url: string, soft: boolean, dryRun: boolean) => {
        const started = performance.now();
        let purged: number;
        let receipt = '';
        if (dryRun) purged = (await store.variantsOf(service, primary)).length;
        else {
          ({ purged, receipt } = await purgeUrl(store, service, primary, url, soft, Date.now()));
          if (!soft && purged > 0) await store.addStats(service, new Map([['purges', purged]]));
        }
        const longestCallMs = Math.round((performance.now() - started) * 100) / 100;
        return { purged, batches: 1, longestCallMs, ...(receipt === '' ? {} : { receipt }) };
      };

      /** Audit: who (the token's scope, never the token), what selector, how many. */
      const audit = (request: FastifyRequest, selector: unknown, result: z.input<typeof purgeResponse>) => {
        if (!result.dryRun) metrics.purged.inc({ service: result.service }, result.purged);
        request.log.info(
          {
            audit: 'purge',
            caller: who(request.caller as Caller),
            service: result.service,
            selector,
            soft: result.soft,
            dryRun: result.dryRun,
            purged: result.purged,
          },
          'purge',
        );
      };

      api.post('/purge', async (request, reply) => {
        const input = urlPurgeBody.safeParse(request.body);
        if (!input.success) return badInput(reply, input.error);
        const { registry, runtimeFor } = current();
        const received = viewOf({ url: input.data.url, headers: {} }, { services: registry, runtimeFor });
        if (!received.ok) return fail(reply, 404, received.error.code, received.error.message);
        const { view } = received;
        if (!mayAccess(request.caller as Caller, view.service.id)) {
          return fail(reply, 403, 'CF_ERR_ADMIN_FORBIDDEN', `this token may not purge service "${view.service.id}"`);
        }
        const { soft, dryRun } = input.data;
        // A fetch-by-URL request's URL names the object it fetched.
        const primary = fetchedPrimaryOf(view, input.data.url) ?? view.primary;
        const done = await purgeOneUrl(view.service.id, primary.hash, primary.readable, soft, dryRun);
        const result = { service: view.service.id, url: primary.readable, soft, dryRun, ...done };
        audit(request, { url: primary.readable }, result);
        return result;
      });

      api.post('/services/:service/purge', async (request, reply) => {
        const service = scoped(request, reply);
        if (service === undefined) return reply;
        const input = servicePurgeBody.safeParse(request.body);
        if (!input.success) return badInput(reply, input.error);
        const { url, filter, soft, dryRun } = input.data;
        if (url !== undefined) {
          const { registry, runtimeFor } = current();
          const received = viewOf({ url, headers: {} }, { services: registry, runtimeFor });
          if (!received.ok || received.view.service.id !== service) {
            return fail(reply, 400, 'CF_ERR_ADMIN_BAD_INPUT', `url does not belong to service "${service}"`);
          }
          const primary = fetchedPrimaryOf(received.view, url) ?? received.view.primary;
          const done = await purgeOneUrl(service, primary.hash, primary.readable, soft, dryRun);
          const result = { service, url: primary.readable, soft, dryRun, ...done };
          audit(request, { url: primary.readable }, result);
          return result;
        }
        const storeFilter = filter === undefined ? {} : toStoreFilter(filter);
        if (filter !== undefined && Object.keys(storeFilter).length === 0) {
          return fail(
            reply,
            400,
            'CF_ERR_ADMIN_UNSCOPED_PURGE',
            'an empty filter would purge the whole service; say {"all": true} to mean it',
          );
        }
        const done = await purgeMatching(store, service, storeFilter, { soft, dryRun, now: Date.now });
        const result = { service, soft, dryRun, ...done };
        audit(request, filter === undefined ? { all: true } : { filter }, result);
        return result;
      });

      api.post('/explain', async (request, reply) => {
        const input = explainBody.safeParse(request.body);
        if (!input.success) return badInput(reply, input.error);
        const { registry, runtimeFor } = current();
        const explained = await explain(input.data, { services: registry, runtimeFor, store, now: Date.now });
        if (!explained.ok) return fail(reply, 404, explained.error.code, explained.error.message);
        if (!mayAccess(request.caller as Caller, explained.service)) {
          return fail(reply, 403, 'CF_ERR_ADMIN_FORBIDDEN', `this token may not read service "${explained.service}"`);
        }
        return explained.result;
      });

      /** Where a purge has been applied: this region and each peer, when, or not yet. */
      api.get('/services/:service/purges/:receipt', async (request, reply) => {
        const service = scoped(request, reply);
        if (service === undefined) return reply;
        const input = receiptParams.safeParse(request.params);
        if (!input.success) return badInput(reply, input.error);
        const applied = await store.receipt(service, input.data.receipt);
        const { region } = current().config;
        const names = region ? [region.id, ...region.peers.map((peer) => peer.id)] : [];
        const regions: Record<string, string | null> = {};
        for (const name of names) {
          const at = applied.get(name);
          regions[name] = at === undefined ? null : new Date(at).toISOString();
        }
        return {
          service,
          receipt: input.data.receipt,
          complete: names.length > 0 && names.every((name) => applied.has(name)),
          regions,
        };
      });

      api.get('/services/:service/origin', async (request, reply) => {
        const service = scoped(request, reply);
        if (service === undefined) return reply;
        return { service, ...(await originState(service)) };
      });

      api.get('/services/:service/stats', async (request, reply) => {
        const service = scoped(request, reply);
        if (service === undefined) return reply;
        const [stats, origin] = await Promise.all([store.readStats(service), originState(service)]);
        const field = (name: string) => stats[name] ?? 0;
        const hits = field('hits');
        const misses = field('misses');
        return {
          service,
          entries: field('entries'),
          bytesStored: field('bytesStored'),
          quotaBytes: current().serviceConfig.get(service)?.cache.quota.bytes ?? 0,
          hits,
          misses,
          bypasses: field('bypasses'),
          hitRatio: hits + misses === 0 ? 0 : hits / (hits + misses),
          bytesFromCache: field('bytesFromCache'),
          bytesFromOrigin: field('bytesFromOrigin'),
          evictions: field('evictions'),
          purges: field('purges'),
          staleServed: field('staleServed'),
          errors: field('errors'),
          storeTimeouts: field('storeTimeouts'),
          storeErrors: field('storeErrors'),
          bytesSavedByCompression: field('bytesSavedByCompression'),
          bytesSavedByImages: field('bytesSavedByImages'),
          origin,
        };
      });
    },
    { prefix: '/v1' },
  );
  return app;
}
