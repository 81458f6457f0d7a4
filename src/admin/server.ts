/**
 * @module The admin listener (loopback by default), apart from the data plane. For now it answers
 * health and readiness; the admin API (list, purge, stats) is built on this instance.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';

export interface AdminOptions {
  /** Checks the store answers; readiness fails while it does not. */
  storeReady: () => Promise<boolean>;
  storeKind: 'redis' | 'embedded';
  logger?: FastifyBaseLogger | boolean;
}

export function buildAdmin(options: AdminOptions): FastifyInstance {
  const app = Fastify(
    typeof options.logger === 'object' ? { loggerInstance: options.logger } : { logger: options.logger ?? false },
  );
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const ready = await options.storeReady().catch(() => false);
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'store unavailable', store: options.storeKind });
  });
  return app;
}
