/**
 * @module Customers' certificates kept in Redis for the whole fleet, set through the admin API
 * (PUT /v1/services/{service}/certificate): every edge process serves them within
 * `edge.tls.checkEveryMs`. One version counter says when anything changed, so a check costs one
 * GET until something does. The key is stored as the customer gave it (Redis is the fleet's
 * trusted store, as for the cache itself); it is never logged and never returned by the API.
 */
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../redis/connect.js';
import type { CertificatePair } from './certificate.js';
import type { StoredCertificate } from './contexts.js';

export interface CertificateStore {
  /** Every stored certificate, by service (read again only when something changed). */
  load(): Promise<ReadonlyMap<string, StoredCertificate>>;
  put(service: string, pair: CertificatePair): Promise<StoredCertificate>;
  /** False when there was none. */
  remove(service: string): Promise<boolean>;
}

const KEYS = {
  /** Hash: service → JSON { cert, key, version }. In a slot of its own (`{:certs}` is no service's tag). */
  certificates: 'cf:{:certs}:certificates',
  /** Counter: raised by every change. */
  version: 'cf:{:certs}:version',
} as const;

export class RedisCertificateStore implements CertificateStore {
  private cached: { version: string; certificates: Map<string, StoredCertificate> } | undefined;

  constructor(private readonly client: RedisClient) {}

  async load(): Promise<ReadonlyMap<string, StoredCertificate>> {
    const version = (await this.client.get(KEYS.version)) ?? '0';
    if (this.cached?.version === version) return this.cached.certificates;
    const all = await this.client.hgetall(KEYS.certificates);
    const certificates = new Map<string, StoredCertificate>();
    for (const [service, text] of Object.entries(all)) {
      try {
        const { cert, key, version: own } = JSON.parse(text) as Partial<StoredCertificate>;
        if (typeof cert === 'string' && typeof key === 'string' && typeof own === 'string') {
          certificates.set(service, { cert, key, version: own });
        }
      } catch {
        // not ours: left out
      }
    }
    this.cached = { version, certificates };
    return certificates;
  }

  async put(service: string, pair: CertificatePair): Promise<StoredCertificate> {
    const stored = { cert: pair.cert, key: pair.key, version: randomUUID() };
    await this.client.multi().hset(KEYS.certificates, service, JSON.stringify(stored)).incr(KEYS.version).exec();
    return stored;
  }

  async remove(service: string): Promise<boolean> {
    const results = (await this.client.multi().hdel(KEYS.certificates, service).incr(KEYS.version).exec()) as [
      [null, number],
      unknown,
    ];
    return results[0][1] === 1;
  }
}

/** The embedded store's: one process, its memory. */
export class MemoryCertificateStore implements CertificateStore {
  private readonly certificates = new Map<string, StoredCertificate>();

  async load(): Promise<ReadonlyMap<string, StoredCertificate>> {
    return this.certificates;
  }

  async put(service: string, pair: CertificatePair): Promise<StoredCertificate> {
    const stored = { cert: pair.cert, key: pair.key, version: randomUUID() };
    this.certificates.set(service, stored);
    return stored;
  }

  async remove(service: string): Promise<boolean> {
    return this.certificates.delete(service);
  }
}
