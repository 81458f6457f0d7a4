/**
 * @module The admin listener (loopback by default), apart from the data plane: health and
 * readiness for load balancers, and the admin API under /v1 behind bearer tokens (operator tokens
 * for every service, service tokens for one), answering JSON errors with stable codes.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Config } from '../config/schema.js';
import { serviceRuntimes } from '../pipeline/service-runtime.js';
import { ServiceRegistry } from '../services/registry.js';
import type { CacheStore } from '../store/types.js';
import { compileCidrs, contains } from '../waap/cidr.js';
import { type Caller, mayAccess, TokenAuthority } from './auth.js';
import { explain, viewOf } from './explain.js';

export interface AdminOptions {
  config: Config;
  store: CacheStore;
  /** Checks the store answers; readiness fails while it does not. */
  storeReady: () => Promise<boolean>;
  storeKind: 'redis' | 'embedded';
  logger?: FastifyBaseLogger | boolean;
}

function fail(reply: FastifyReply, status: number, code: string, message: string) {
  return reply.code(status).send({ error: { code, message } });
}

const serviceParams = z.strictObject({ service: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/) });

const purgeBody = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'url must be an absolute http:// or https:// URL' }),
  /** Count what would be purged, delete nothing. */
  dryRun: z.boolean().default(false),
});

const explainBody = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'url must be an absolute http:// or https:// URL' }),
  headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/), z.string().max(8192)).default({}),
});

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

export function buildAdmin(options: AdminOptions): FastifyInstance {
  const { config, store } = options;
  const app = Fastify(
    typeof options.logger === 'object' ? { loggerInstance: options.logger } : { logger: options.logger ?? false },
  );
  const allow = compileCidrs(config.admin.allow);
  if (allow) {
    app.addHook('onRequest', async (request, reply) => {
      if (!contains(allow, request.socket.remoteAddress ?? '')) {
        return fail(reply, 403, 'CF_ERR_ADMIN_FORBIDDEN', 'this address may not use the admin listener');
      }
    });
  }

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const ready = await options.storeReady().catch(() => false);
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'store unavailable', store: options.storeKind });
  });

  const authority = new TokenAuthority(config.admin.tokens);
  const services = new Set(config.services.map((s) => s.id));
  const registry = ServiceRegistry.fromConfig(config);
  const runtimeFor = serviceRuntimes(config.services);

  // The API lives in its own encapsulated scope, so its auth hook never reaches health checks.
  app.register(
    async (api) => {
      api.addHook('onRequest', async (request, reply) => {
        const caller = authority.identify(request.headers.authorization);
        if (!caller) {
          reply.header('www-authenticate', 'Bearer');
          return fail(reply, 401, 'CF_ERR_ADMIN_UNAUTHENTICATED', 'a valid bearer token is required');
        }
        request.caller = caller;
      });

      api.post('/explain', async (request, reply) => {
        const input = explainBody.safeParse(request.body);
        if (!input.success) {
          return fail(reply, 400, 'CF_ERR_ADMIN_BAD_INPUT', z.prettifyError(input.error));
        }
        const explained = await explain(input.data, { services: registry, runtimeFor, store, now: Date.now });
        if (!explained.ok) return fail(reply, 404, explained.error.code, explained.error.message);
        if (!mayAccess(request.caller as Caller, explained.service)) {
          return fail(reply, 403, 'CF_ERR_ADMIN_FORBIDDEN', `this token may not read service "${explained.service}"`);
        }
        return explained.result;
      });

      // Purge one URL, every variant of it, on every node (L1 copies via the purge announcement).
      api.post('/purge', async (request, reply) => {
        const input = purgeBody.safeParse(request.body);
        if (!input.success) return fail(reply, 400, 'CF_ERR_ADMIN_BAD_INPUT', z.prettifyError(input.error));
        const received = viewOf({ url: input.data.url, headers: {} }, { services: registry, runtimeFor });
        if (!received.ok) return fail(reply, 404, received.error.code, received.error.message);
        const { view } = received;
        const caller = request.caller as Caller;
        if (!mayAccess(caller, view.service.id)) {
          return fail(reply, 403, 'CF_ERR_ADMIN_FORBIDDEN', `this token may not purge service "${view.service.id}"`);
        }
        if (input.data.dryRun) {
          const stored = await store.variantsOf(view.service.id, view.primary.hash);
          return { service: view.service.id, url: view.primary.readable, purged: stored.length, dryRun: true };
        }
        const removed = await store.invalidate(view.service.id, view.primary.hash);
        await store.addStats(view.service.id, new Map([['purges', removed.length]]));
        // Audit: who (never the token), what, how many.
        request.log.info(
          {
            audit: 'purge',
            caller: caller.kind === 'operator' ? 'operator' : `service:${caller.service}`,
            service: view.service.id,
            url: view.primary.readable,
            purged: removed.length,
          },
          'purge',
        );
        return { service: view.service.id, url: view.primary.readable, purged: removed.length };
      });

      api.get('/services/:service/stats', async (request, reply) => {
        const params = serviceParams.safeParse(request.params);
        if (!params.success || !services.has(params.data.service)) {
          return fail(reply, 404, 'CF_ERR_ADMIN_UNKNOWN_SERVICE', 'no such service');
        }
        const { service } = params.data;
        if (!mayAccess(request.caller as Caller, service)) {
          return fail(reply, 403, 'CF_ERR_ADMIN_FORBIDDEN', `this token may not read service "${service}"`);
        }
        const stats = await store.readStats(service);
        const hits = stats.hits ?? 0;
        const misses = stats.misses ?? 0;
        return {
          service,
          entries: stats.entries ?? 0,
          hits,
          misses,
          bypasses: stats.bypasses ?? 0,
          hitRatio: hits + misses === 0 ? 0 : hits / (hits + misses),
          bytesFromCache: stats.bytesFromCache ?? 0,
          evictions: stats.evictions ?? 0,
          purges: stats.purges ?? 0,
        };
      });
    },
    { prefix: '/v1' },
  );
  return app;
}
