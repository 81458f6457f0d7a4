/**
 * @module Host header → service. Host names are compared lower-cased with the scheme's default
 * port removed; exact names win over `*.wildcard` names, which match exactly one more label.
 */
import type { Config, ServiceConfig } from '../config/schema.js';

export interface NormalisedHost {
  /** Lower-cased host name (an IPv6 literal keeps its brackets), without any port. */
  name: string;
  /** The host as the origin and the key see it: name, plus the port when it is not the default. */
  authority: string;
}

// reg-name / IPv4 (letters, digits, - . _ ~ and sub-delims are allowed by RFC 3986, we take the
// DNS subset) or an IPv6 literal, then an optional port.
const HOST_PATTERN = /^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9._-]*[a-z0-9])?)(?::(\d{1,5}))?$/;

/** Parses a Host header value; undefined when it is not a valid host. */
export function normaliseHost(value: string | undefined, scheme: 'http' | 'https'): NormalisedHost | undefined {
  if (!value) return undefined;
  const lower = value.toLowerCase();
  const match = HOST_PATTERN.exec(lower.endsWith('.') ? lower.slice(0, -1) : lower);
  if (!match) return undefined;
  const name = match[1] as string;
  const port = match[3];
  if (port !== undefined && Number(port) > 65535) return undefined;
  const isDefaultPort = port === undefined || Number(port) === (scheme === 'https' ? 443 : 80);
  return { name, authority: isDefaultPort ? name : `${name}:${Number(port)}` };
}

export class ServiceRegistry {
  private readonly exact = new Map<string, ServiceConfig>();
  private readonly wildcard = new Map<string, ServiceConfig>();
  readonly byId = new Map<string, ServiceConfig>();

  constructor(services: readonly ServiceConfig[]) {
    for (const service of services) {
      this.byId.set(service.id, service);
      for (const host of service.hosts) {
        if (host.startsWith('*.')) this.wildcard.set(host.slice(2), service);
        else this.exact.set(host, service);
      }
    }
  }

  static fromConfig(config: Config): ServiceRegistry {
    return new ServiceRegistry(config.services);
  }

  /** The service for a normalised host name (no port), or undefined. */
  resolve(hostName: string): ServiceConfig | undefined {
    const exact = this.exact.get(hostName);
    if (exact) return exact;
    const dot = hostName.indexOf('.');
    return dot > 0 ? this.wildcard.get(hostName.slice(dot + 1)) : undefined;
  }
}
