/**
 * @module The purge counters of the in-process store (PurgeGuard): per URL, and per service (its one
 * key space). Their memory is bounded: past MAX_URL_COUNTERS the URL counters are forgotten all at
 * once and every service's counter moves instead, so no counter ever reads as it did before a purge.
 */
import type { PurgeGuard, PurgeScope } from './types.js';

const MAX_URL_COUNTERS = 100_000;

export class PurgeCounters {
  private readonly urls = new Map<string, number>();
  private readonly services = new Map<string, number>();
  /** Times the URL counters were forgotten: part of every service's counter. */
  private resets = 0;

  guardOf(service: string, primaryHash: string): PurgeGuard {
    return {
      url: this.urls.get(`${service}\n${primaryHash}`) ?? 0,
      space: (this.services.get(service) ?? 0) + this.resets,
    };
  }

  /** Moves the counter a purge covers. */
  bump(service: string, scope: PurgeScope): void {
    if (scope.kind !== 'url') {
      this.services.set(service, (this.services.get(service) ?? 0) + 1);
      return;
    }
    if (this.urls.size >= MAX_URL_COUNTERS) {
      this.urls.clear();
      this.resets++;
    }
    const id = `${service}\n${scope.primaryKey}`;
    this.urls.set(id, (this.urls.get(id) ?? 0) + 1);
  }

  /** Does `guard` still read as the counters do now? */
  holds(service: string, primaryHash: string, guard: PurgeGuard): boolean {
    const now = this.guardOf(service, primaryHash);
    return now.url === guard.url && now.space === guard.space;
  }
}
