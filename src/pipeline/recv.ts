/**
 * @module RECV: from a raw request to the edge's one view of it — the service, the normalised
 * target, the primary key — or the error to answer with. The key and the origin request are both
 * built from this view, never from the raw request.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { ServiceConfig } from '../config/schema.js';
import { BadRequestTarget, type CachefrontError, MissingHost, UnknownService } from '../errors.js';
import { type PrimaryKey, primaryKey } from '../key/cache-key.js';
import { type NormalisedTarget, normaliseTarget } from '../key/url.js';
import { normaliseHost, type ServiceRegistry } from '../services/registry.js';
import type { ServiceRuntime } from './service-runtime.js';

export interface RequestView {
  method: string;
  service: ServiceConfig;
  runtime: ServiceRuntime;
  scheme: 'http' | 'https';
  /** Host as the origin receives it. */
  authority: string;
  target: NormalisedTarget;
  headers: IncomingHttpHeaders;
  clientIp: string;
  primary: PrimaryKey;
}

export type RecvResult = { ok: true; view: RequestView } | { ok: false; error: CachefrontError };

export interface RecvDeps {
  services: ServiceRegistry;
  runtimeFor(service: ServiceConfig): ServiceRuntime;
}

/**
 * An absolute-form target (`GET http://host/path`) names its own authority, which then wins over
 * the Host header (RFC 9112 §3.2.2); both are checked the same way.
 */
function splitTarget(url: string): { authority?: string; target: string } | undefined {
  if (url.startsWith('/')) return { target: url };
  const match = /^https?:\/\/([^/?#]*)([^#]*)/i.exec(url);
  if (!match) return undefined;
  const rest = match[2] as string;
  return { authority: match[1] as string, target: rest === '' || rest.startsWith('?') ? `/${rest}` : rest };
}

export function recv(req: IncomingMessage, deps: RecvDeps): RecvResult {
  const scheme = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  const split = splitTarget(req.url ?? '');
  if (!split) return { ok: false, error: BadRequestTarget('unsupported request-target form') };
  const host = normaliseHost(split.authority ?? req.headers.host, scheme);
  if (!host) return { ok: false, error: MissingHost() };
  const service = deps.services.resolve(host.name);
  if (!service) return { ok: false, error: UnknownService(host.name) };
  const runtime = deps.runtimeFor(service);
  const target = normaliseTarget(split.target, runtime.queryRules);
  if (!target) return { ok: false, error: BadRequestTarget('malformed percent-encoding or path') };
  const primary = primaryKey({
    service: service.id,
    scheme,
    authority: host.authority,
    methodClass: 'GET',
    path: target.path,
    query: target.query,
  });
  return {
    ok: true,
    view: {
      method: req.method ?? 'GET',
      service,
      runtime,
      scheme,
      authority: host.authority,
      target,
      headers: req.headers,
      clientIp: req.socket.remoteAddress ?? '',
      primary,
    },
  };
}
