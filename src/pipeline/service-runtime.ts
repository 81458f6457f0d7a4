/**
 * @module What each service needs precompiled at start-up (query globs, the device classifier),
 * built once per configuration snapshot so the request path never compiles a regex.
 */
import type { BlockList } from 'node:net';
import { DEFAULT_BUCKET_USER_AGENTS, type ServiceConfig } from '../config/schema.js';
import { compileFetchRoute, type FetchRoute } from '../fetch/fetch-view.js';
import { cookieFilter } from '../key/cookies.js';
import { deviceClassifier } from '../key/device.js';
import { type CompiledQueryRules, compileQueryRules } from '../key/url.js';
import type { VaryContext } from '../key/vary.js';
import { CompiledRules } from '../rules/match.js';
import { compileCidrs } from '../waap/cidr.js';

export interface ServiceRuntime {
  queryRules: CompiledQueryRules;
  vary: VaryContext;
  /** The User-Agent cache fills send for each device bucket (key.device.userAgents + built-ins). */
  bucketUserAgents: Readonly<Record<string, string>>;
  allow: BlockList | undefined;
  deny: BlockList | undefined;
  /**
   * Response fields meant for the edge and removed before clients see them: CDN-Cache-Control and
   * Surrogate-Control (RFC 9213) and the tagging headers, unless the service forwards them.
   */
  consumedHeaders: readonly string[];
  /** Lower-case names of the origin's tagging headers (cache.tagHeaders). */
  tagHeaders: readonly string[];
  /** The service's cache rules, compiled (rules/match.ts). */
  rules: CompiledRules;
  /** Strict-Transport-Security for its HTTPS responses (services[].tls.hsts), or none. */
  hsts: string | undefined;
  /** Its fetch-by-URL mode (services[].fetch), or none. */
  fetch: FetchRoute | undefined;
}

/** The Strict-Transport-Security value of a service's settings. */
function hstsValue(hsts: ServiceConfig['tls']['hsts']): string | undefined {
  if (!hsts) return undefined;
  return [
    `max-age=${Math.floor(hsts.maxAge / 1000)}`,
    ...(hsts.includeSubDomains ? ['includeSubDomains'] : []),
    ...(hsts.preload ? ['preload'] : []),
  ].join('; ');
}

export function buildServiceRuntime(service: ServiceConfig): ServiceRuntime {
  return {
    queryRules: compileQueryRules({ drop: service.key.dropQuery, keepOnly: service.key.keepQueryOnly }),
    vary: {
      classifyDevice: deviceClassifier(service.key.device),
      deviceHeader: service.key.device.header === false ? undefined : service.key.device.header,
      cookies: cookieFilter(service.key.cookies.ignore),
    },
    bucketUserAgents: { ...DEFAULT_BUCKET_USER_AGENTS, ...service.key.device.userAgents },
    allow: compileCidrs(service.waap.allow),
    deny: compileCidrs(service.waap.deny),
    consumedHeaders: [
      ...(service.cache.forwardTargetedCacheControl ? [] : ['cdn-cache-control', 'surrogate-control']),
      ...(service.cache.forwardTagHeaders ? [] : service.cache.tagHeaders),
    ],
    tagHeaders: service.cache.tagHeaders,
    rules: new CompiledRules(service.rules),
    hsts: hstsValue(service.tls.hsts),
    fetch: compileFetchRoute(service.fetch),
  };
}

/** Runtimes for every service of a configuration, keyed by service id. */
export function serviceRuntimes(services: readonly ServiceConfig[]): (service: ServiceConfig) => ServiceRuntime {
  const runtimes = new Map(services.map((service) => [service.id, buildServiceRuntime(service)]));
  return (service) => {
    const runtime = runtimes.get(service.id);
    if (!runtime) throw new Error(`no runtime for service ${service.id}`);
    return runtime;
  };
}
