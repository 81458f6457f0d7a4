/**
 * @module The admin API's configuration routes, for operator tokens only: reload the file
 * (POST /v1/reload), what every process runs (GET /v1/config), and services kept as data —
 * created, changed and deleted in the catalog (PUT/DELETE /v1/services/{service}), validated by
 * the configuration's own schema, audit-logged with their caller, answered once every live process
 * reports having applied them.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { LiveConfig, ReloadResult } from '../config/live-config.js';
import { formatIssues } from '../config/load.js';
import { type Config, serviceSchema } from '../config/schema.js';
import type { NodeReport, ServiceCatalog, Who } from '../services/catalog.js';
import { type Caller, tokenFingerprint } from './auth.js';
import { fail } from './replies.js';
import { auditQuery, serviceParams } from './schemas.js';

export interface CatalogAccess {
  store: ServiceCatalog;
  live: LiveConfig;
  /** A process silent this long is taken to be gone: not waited for, not listed. */
  freshMs: number;
}

export interface ConfigRouteOptions {
  current: () => Config;
  reload: (() => Promise<ReloadResult>) | undefined;
  catalog: CatalogAccess | undefined;
}

/** A change waits this long for every live process to report it. */
const APPLY_WAIT_MS = 5_000;
const APPLY_POLL_MS = 25;

const iso = (ms: number) => new Date(ms).toISOString();
const nodeView = (report: NodeReport) => ({ ...report, at: iso(report.at) });

function operatorOnly(request: FastifyRequest, reply: FastifyReply): boolean {
  if ((request.caller as Caller).kind === 'operator') return true;
  fail(reply, 403, 'CF_ERR_ADMIN_FORBIDDEN', 'only an operator token may change or read the configuration');
  return false;
}

/** Who acted, for the audit log: the token's scope and fingerprint, and the address. */
function whoActed(request: FastifyRequest): Who {
  const caller = request.caller as Caller;
  const scope = caller.kind === 'operator' ? 'operator' : `service:${caller.service}`;
  return { caller: `${scope}#${tokenFingerprint(request.headers.authorization)}`, address: request.ip };
}

/** Waits until every live process reports `version` of the catalog or a later one (or the wait ends). */
async function applied(catalog: CatalogAccess, version: number) {
  const deadline = Date.now() + APPLY_WAIT_MS;
  for (;;) {
    const nodes = await catalog.store.nodes(Date.now(), catalog.freshMs);
    const complete = nodes.length > 0 && nodes.every((node) => node.catalog >= version);
    if (complete || Date.now() >= deadline) return { complete, nodes: nodes.map(nodeView) };
    await new Promise((resolve) => setTimeout(resolve, APPLY_POLL_MS));
  }
}

/** 409: the configuration file defines this service; the catalog may not change it. */
function fileOwns(reply: FastifyReply, service: string, verb: 'change' | 'remove') {
  return fail(
    reply,
    409,
    'CF_ERR_ADMIN_CONFLICT',
    `service "${service}" is defined in the configuration file: ${verb} it there`,
  );
}

export function configRoutes(api: FastifyInstance, options: ConfigRouteOptions): void {
  const { catalog } = options;
  const withCatalog = (reply: FastifyReply): CatalogAccess | undefined => {
    if (!catalog) {
      fail(reply, 409, 'CF_ERR_ADMIN_NO_CATALOG', 'services as data need catalog.enabled in the configuration');
    }
    return catalog;
  };
  /** The service id of a /services/{service} route, or the reply already sent. */
  const serviceOf = (request: FastifyRequest, reply: FastifyReply): string | undefined => {
    const params = serviceParams.safeParse(request.params);
    if (params.success) return params.data.service;
    fail(reply, 400, 'CF_ERR_ADMIN_BAD_INPUT', 'not a service id');
    return undefined;
  };

  api.post('/reload', async (request, reply) => {
    if (!operatorOnly(request, reply)) return reply;
    if (!options.reload) return fail(reply, 409, 'CF_ERR_ADMIN_NO_RELOAD', 'this process has no file to reload');
    const result = await options.reload();
    if (!result.ok) {
      return fail(reply, 422, result.code, result.message, { issues: result.issues });
    }
    const { ok: _ok, ...rest } = result;
    request.log.info({ audit: 'reload', ...whoActed(request), file: result.file }, 'configuration reloaded');
    return { reloaded: true, ...rest };
  });

  api.get('/config', async (request, reply) => {
    if (!operatorOnly(request, reply)) return reply;
    const config = options.current();
    const file = catalog?.live.fileServices;
    return {
      version: catalog?.live.version ?? { file: '', catalog: 0 },
      catalog: { enabled: config.catalog.enabled },
      services: config.services.map((s) => ({
        id: s.id,
        hosts: [...s.hosts],
        source: file && !file.has(s.id) ? ('catalog' as const) : ('file' as const),
      })),
      refused: catalog?.live.refused ?? [],
      nodes: catalog ? (await catalog.store.nodes(Date.now(), catalog.freshMs)).map(nodeView) : [],
    };
  });

  api.get('/services/:service', async (request, reply) => {
    if (!operatorOnly(request, reply)) return reply;
    const service = serviceOf(request, reply);
    if (service === undefined) return reply;
    const running = options.current().services.find((s) => s.id === service);
    const stored = catalog ? (await catalog.store.read()).services.get(service) : undefined;
    if (!running && stored === undefined) return fail(reply, 404, 'CF_ERR_ADMIN_UNKNOWN_SERVICE', 'no such service');
    const fromFile = catalog ? catalog.live.fileServices.has(service) : true;
    return {
      service,
      source: fromFile ? 'file' : 'catalog',
      hosts: [...(running?.hosts ?? [])],
      ...(fromFile ? {} : { definition: stored }),
    };
  });

  api.put('/services/:service', async (request, reply) => {
    if (!operatorOnly(request, reply)) return reply;
    const access = withCatalog(reply);
    const service = access && serviceOf(request, reply);
    if (!access || service === undefined) return reply;
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return fail(reply, 400, 'CF_ERR_ADMIN_BAD_INPUT', 'the body is a service definition (a JSON object)');
    }
    const definition = { ...(body as Record<string, unknown>), id: service };
    if ('id' in body && (body as { id?: unknown }).id !== service) {
      return fail(reply, 400, 'CF_ERR_ADMIN_BAD_INPUT', `the body's id must be "${service}" (the path's), or absent`);
    }
    // The configuration's own schema: what the file would accept for a service, the catalog accepts.
    const parsed = serviceSchema.safeParse(definition);
    if (!parsed.success) {
      const issues = formatIssues(parsed.error.issues);
      return fail(reply, 400, 'CF_ERR_ADMIN_BAD_INPUT', `invalid service:\n${issues.join('\n')}`, { issues });
    }
    if (access.live.fileServices.has(service)) return fileOwns(reply, service, 'change');
    for (const other of options.current().services) {
      if (other.id === service) continue;
      const shared = parsed.data.hosts.find((host) => other.hosts.includes(host));
      if (shared !== undefined) {
        return fail(reply, 409, 'CF_ERR_ADMIN_CONFLICT', `host "${shared}" is already served by service "${other.id}"`);
      }
    }
    const who = whoActed(request);
    const { version, created } = await access.store.put(service, definition, who, Date.now());
    request.log.info({ audit: 'service', action: 'put', service, created, version, ...who }, 'service stored');
    return reply.code(created ? 201 : 200).send({ service, version, created, applied: await applied(access, version) });
  });

  api.delete('/services/:service', async (request, reply) => {
    if (!operatorOnly(request, reply)) return reply;
    const access = withCatalog(reply);
    const service = access && serviceOf(request, reply);
    if (!access || service === undefined) return reply;
    if (access.live.fileServices.has(service)) return fileOwns(reply, service, 'remove');
    const who = whoActed(request);
    const { version, removed } = await access.store.remove(service, who, Date.now());
    if (!removed) return fail(reply, 404, 'CF_ERR_ADMIN_UNKNOWN_SERVICE', 'no such service in the catalog');
    request.log.info({ audit: 'service', action: 'delete', service, version, ...who }, 'service deleted');
    return { service, version, deleted: true, applied: await applied(access, version) };
  });

  api.get('/config/audit', async (request, reply) => {
    if (!operatorOnly(request, reply)) return reply;
    const access = withCatalog(reply);
    if (!access) return reply;
    const query = auditQuery.safeParse(request.query);
    if (!query.success) return fail(reply, 400, 'CF_ERR_ADMIN_BAD_INPUT', query.error.message);
    const changes = await access.store.audit(query.data.limit);
    return { changes: changes.map((change) => ({ ...change, at: iso(change.at) })) };
  });
}
