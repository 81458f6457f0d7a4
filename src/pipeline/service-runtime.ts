/**
 * @module What each service needs precompiled at start-up (query globs, the device classifier),
 * built once per configuration snapshot so the request path never compiles a regex.
 */
import type { ServiceConfig } from '../config/schema.js';
import { deviceClassifier } from '../key/device.js';
import { type CompiledQueryRules, compileQueryRules } from '../key/url.js';
import type { VaryContext } from '../key/vary.js';

export interface ServiceRuntime {
  queryRules: CompiledQueryRules;
  vary: VaryContext;
}

export function buildServiceRuntime(service: ServiceConfig): ServiceRuntime {
  return {
    queryRules: compileQueryRules({ drop: service.key.dropQuery, keepOnly: service.key.keepQueryOnly }),
    vary: { classifyDevice: deviceClassifier(service.key.device) },
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
