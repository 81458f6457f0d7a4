/**
 * @module RECV: from a raw request to the edge's one view of it — the service, the normalised
 * target, the primary key — or the error to answer with. The key and the origin request are both
 * built from this view, never from the raw request.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { BlockList } from 'node:net';
import { BoundedMemo } from '../bounded-memo.js';
import type { ServiceConfig } from '../config/schema.js';
import {
  AmbiguousRequest,
  BadRequestTarget,
  type CachefrontError,
  InvalidHost,
  MissingHost,
  TooManyHeaders,
  UnknownService,
  UrlTooLong,
} from '../errors.js';
import type { FetchUpstream } from '../fetch/fetch-client.js';
import { keyedPrimary, type PrimaryKey, primaryKey } from '../key/cache-key.js';
import { type NormalisedTarget, normaliseTarget } from '../key/url.js';
import { varyValues } from '../key/vary.js';
import { cookieValue, type MatchedRules, NO_RULES } from '../rules/match.js';
import { normaliseHost, type ServiceRegistry } from '../services/registry.js';
import { contains } from '../waap/cidr.js';
import { clientAddress } from '../waap/client-address.js';
import { headerSafe } from './cache-status.js';
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
  /** The service's cache rules this request matched (none: a shared empty result). */
  rules: MatchedRules;
  /** A fetch-by-URL request's upstream (fetch/fetch-view.ts): fetched from there, not the origin. */
  upstream: FetchUpstream | undefined;
}

export type RecvResult = { ok: true; view: RequestView } | { ok: false; error: CachefrontError };

export interface RequestLimits {
  maxUrlBytes: number;
  maxHeaderCount: number;
}

export interface RecvDeps {
  services: ServiceRegistry;
  runtimeFor(service: ServiceConfig): ServiceRuntime;
  memo?: RecvMemo;
  limits?: RequestLimits;
  /** Proxies whose X-Forwarded-For is believed (edge.trustedProxies). */
  trustedProxies?: BlockList | undefined;
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

/** The part of the view that depends only on scheme, Host and target: memoised for hot URLs. */
interface Resolved {
  service: ServiceConfig;
  runtime: ServiceRuntime;
  authority: string;
  target: NormalisedTarget;
  primary: PrimaryKey;
}

/** The resolution memo's budget per process (docs/operations.md, "Memory budget"). */
export const RECV_MEMO_BYTES = 8 * 1024 * 1024;

/** What one resolution keeps alive: its strings (the key's serialisation is the largest). */
function resolvedBytes(value: Resolved | CachefrontError): number {
  if (value instanceof Error) return 2 * value.message.length + 200;
  const { target, primary, authority } = value;
  return (
    2 * (target.path.length + target.query.length + authority.length) +
    2 * (primary.serialised.length + primary.readable.length + primary.hash.length) +
    300
  );
}

/**
 * Remembers how recent (scheme, Host, target) triples resolved, so a hot URL is normalised and
 * hashed once rather than per request. Bounded in bytes: it starts over when full.
 */
export class RecvMemo extends BoundedMemo<Resolved | CachefrontError> {
  constructor(maxBytes = RECV_MEMO_BYTES) {
    super(maxBytes, resolvedBytes);
  }
}

/**
 * Request hygiene the HTTP parser does not already enforce (it rejects conflicting framing, bare
 * CR/LF/NUL and obs-fold itself): limits, and a second Host header, which Node would silently drop.
 */
function hygiene(req: IncomingMessage, limits: RequestLimits): CachefrontError | undefined {
  if (Buffer.byteLength(req.url ?? '') > limits.maxUrlBytes) return UrlTooLong(String(limits.maxUrlBytes));
  const raw = req.rawHeaders;
  if (raw.length / 2 > limits.maxHeaderCount) return TooManyHeaders(String(limits.maxHeaderCount));
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++;
  }
  return hosts > 1 ? AmbiguousRequest('more than one Host header') : undefined;
}

/**
 * The request's real transport: TLS on this connection, or, on a connection from a trusted proxy
 * (a load balancer that terminated TLS), the first X-Forwarded-Proto it sends.
 */
function transportScheme(req: IncomingMessage, deps: RecvDeps): 'http' | 'https' {
  if ((req.socket as { encrypted?: boolean }).encrypted) return 'https';
  const forwarded = req.headers['x-forwarded-proto'];
  if (forwarded === undefined || !deps.trustedProxies) return 'http';
  if (!contains(deps.trustedProxies, req.socket.remoteAddress ?? '')) return 'http';
  return /^\s*https\s*(,|$)/i.test(String(forwarded)) ? 'https' : 'http';
}

export function recv(req: IncomingMessage, deps: RecvDeps): RecvResult {
  if (deps.limits) {
    const refused = hygiene(req, deps.limits);
    if (refused) return { ok: false, error: refused };
  }
  const scheme = transportScheme(req, deps);
  const url = req.url ?? '';
  const memoId = `${scheme}\n${req.headers.host}\n${url}`;
  let resolved = deps.memo?.get(memoId);
  if (resolved === undefined) {
    resolved = resolve(scheme, url, req.headers.host, deps);
    deps.memo?.set(memoId, resolved);
  }
  if (resolved instanceof Error) return { ok: false, error: resolved };
  // The scheme as the edge knows it, never as a client claims it: what the origin receives as
  // X-Forwarded-Proto, and what `Vary: X-Forwarded-Proto` splits entries on (unless the service
  // keys on the header itself, for an origin behind another proxy layer).
  if (!resolved.service.key.headers.includes('x-forwarded-proto')) req.headers['x-forwarded-proto'] = scheme;
  const method = req.method ?? 'GET';
  const rules =
    resolved.runtime.rules.size === 0
      ? NO_RULES
      : resolved.runtime.rules.match({ method, path: resolved.target.path, headers: req.headers });
  // An operator's rule may reduce the query the key (and the origin) sees.
  const ruled = rules.request?.rule;
  const target = ruled?.query === undefined ? resolved.target : withQueryRule(resolved.target, ruled.query);
  const base = target === resolved.target ? resolved.primary : primaryOf(resolved, target, scheme);
  // Headers the service declared part of its key (key.headers) extend the URL's identity, and so
  // do the framework headers a request carries (key.frameworkHeaders), and a rule's headers and
  // cookies (its key action).
  const keyed = keyedHeaders(resolved.service, req.headers, ruled?.key?.headers);
  const cookies = ruled?.key?.cookies ?? NO_NAMES;
  const primary =
    keyed.length === 0 && cookies.length === 0
      ? base
      : keyedPrimary(
          base,
          [...keyed, ...cookies.map((name) => `cookie:${name}`)],
          [
            ...varyValues(keyed, req.headers, resolved.runtime.vary),
            ...cookies.map((name) => cookieValue(req.headers, name)),
          ],
        );
  return {
    ok: true,
    view: {
      method,
      scheme,
      headers: req.headers,
      ...resolved,
      target,
      primary,
      // The socket's address, or the client behind a trusted proxy. A plain value, not a getter: an
      // accessor in this literal gave every view a hidden class of its own, which V8 keeps in old
      // space with the view's closure — every request's objects were promoted and collected by full
      // mark-compacts (1.3 MB promoted per scavenge under 1 KiB hits, a mark-compact every 1.5 s).
      clientIp: clientAddress(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for'], deps.trustedProxies),
      rules,
      upstream: undefined,
    },
  };
}

const NO_NAMES: readonly string[] = [];

/** The service's keyed headers, plus the framework headers present in this request and a rule's. */
function keyedHeaders(
  service: ServiceConfig,
  headers: IncomingHttpHeaders,
  fromRule: readonly string[] = NO_NAMES,
): readonly string[] {
  let keyed: readonly string[] = service.key.headers;
  for (const name of service.key.frameworkHeaders) {
    if (headers[name] !== undefined && !keyed.includes(name)) keyed = [...keyed, name];
  }
  for (const name of fromRule) if (!keyed.includes(name)) keyed = [...keyed, name];
  return keyed;
}

/** The query a rule leaves: none ("ignore"), or only the parameters it keeps (in their order). */
function withQueryRule(target: NormalisedTarget, rule: 'ignore' | { keep: string[] }): NormalisedTarget {
  if (target.query === '') return target;
  if (rule === 'ignore') return { path: target.path, query: '' };
  const keep = new Set(rule.keep);
  const query = target.query
    .split('&')
    .filter((pair) => {
      const eq = pair.indexOf('=');
      return keep.has(decodeParam(eq === -1 ? pair : pair.slice(0, eq)));
    })
    .join('&');
  return query === target.query ? target : { path: target.path, query };
}

/** A query parameter's name as written in the rule (percent-decoded; malformed: as it is). */
function decodeParam(name: string): string {
  try {
    return decodeURIComponent(name.replaceAll('+', ' '));
  } catch {
    return name;
  }
}

/** The URL's key for a target a rule changed. */
function primaryOf(resolved: Resolved, target: NormalisedTarget, scheme: 'http' | 'https'): PrimaryKey {
  return primaryKey({
    service: resolved.service.id,
    scheme,
    authority: resolved.authority,
    methodClass: 'GET',
    path: target.path,
    query: target.query,
  });
}

function resolve(
  scheme: 'http' | 'https',
  url: string,
  hostHeader: string | undefined,
  deps: RecvDeps,
): Resolved | CachefrontError {
  const split = splitTarget(url);
  if (!split) return BadRequestTarget('unsupported request-target form');
  const given = split.authority ?? hostHeader;
  if (!given) return MissingHost();
  const host = normaliseHost(given, scheme);
  if (!host) return InvalidHost(headerSafe(given.slice(0, 100)));
  const service = deps.services.resolve(host.name);
  if (!service) return UnknownService(host.name);
  const runtime = deps.runtimeFor(service);
  const target = normaliseTarget(split.target, runtime.queryRules);
  if (!target) return BadRequestTarget('malformed percent-encoding or path');
  const primary = primaryKey({
    service: service.id,
    scheme,
    authority: host.authority,
    methodClass: 'GET',
    path: target.path,
    query: target.query,
  });
  return { service, runtime, authority: host.authority, target, primary };
}
