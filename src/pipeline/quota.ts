/**
 * @module A service's byte quota, as KissCache keeps one (docs/large-objects.md, "Quotas"): past
 * it, a miss is refused (507) or passed through uncached instead of evicting what is stored, and a
 * clean-up takes the service down to its low-water mark, least frequently used first. Each node
 * reads the service's stored bytes (shared by every node) at most once a second and in the
 * background, so a miss never waits for it; a node starts a clean-up at most once per interval.
 */
import type { ServiceConfig } from '../config/schema.js';
import type { CacheStore } from '../store/types.js';

/** How old a reading of a service's stored bytes may be. */
const READ_EVERY_MS = 1000;
/** A node's clean-ups of one service start at least this far apart. */
const CLEAN_EVERY_MS = 5000;

interface Reading {
  bytes: number;
  readAt: number;
  pending?: Promise<void> | undefined;
}

export class QuotaGauge {
  private readonly readings = new Map<string, Reading>();
  private readonly cleanedAt = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly store: Pick<CacheStore, 'readStats' | 'trimBytes'>,
    private readonly now: () => number,
    private readonly warn: (obj: object, msg: string) => void,
  ) {}

  /** Is the service at or past its quota, as last read? A full one gets a clean-up under way. */
  full(service: ServiceConfig): boolean {
    const quota = service.cache.quota;
    if (quota.bytes === 0) return false;
    const reading = this.readings.get(service.id);
    if (!reading || this.now() - reading.readAt >= READ_EVERY_MS) this.read(service.id);
    const full = (reading?.bytes ?? 0) >= quota.bytes;
    if (full) this.cleanUp(service);
    return full;
  }

  /** The edge is closing: no more reads or clean-ups (its Redis connection is going). */
  close(): void {
    this.closed = true;
  }

  private read(service: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    const reading = this.readings.get(service) ?? { bytes: 0, readAt: 0 };
    this.readings.set(service, reading);
    reading.pending ??= this.store
      .readStats(service)
      .then((stats) => {
        reading.bytes = stats.bytesStored ?? 0;
        reading.readAt = this.now();
      })
      .catch((error: unknown) => this.warn({ err: error, service }, 'reading a quota’s use failed'))
      .finally(() => {
        reading.pending = undefined;
      });
    return reading.pending;
  }

  private cleanUp(service: ServiceConfig): void {
    if (this.closed) return;
    const at = this.now();
    if (at - (this.cleanedAt.get(service.id) ?? Number.NEGATIVE_INFINITY) < CLEAN_EVERY_MS) return;
    this.cleanedAt.set(service.id, at);
    const { bytes, lowWater } = service.cache.quota;
    this.store
      .trimBytes(service.id, Math.floor(bytes * lowWater))
      .then(() => this.read(service.id))
      .catch((error: unknown) => this.warn({ err: error, service: service.id }, 'a quota’s clean-up failed'));
  }
}
