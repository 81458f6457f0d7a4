/**
 * @module One process following the service catalog: every announced change (pub/sub) and a check
 * of the catalog's version every `catalog.checkEveryMs` (announcements can be lost) read the
 * catalog and apply it to the process's LiveConfig; after each check the process reports the
 * configuration it runs, which is what the admin API waits for and shows.
 */
import { hostname } from 'node:os';
import type { LiveConfig, RefusedService } from '../config/live-config.js';
import type { Config } from '../config/schema.js';
import type { ServiceCatalog } from './catalog.js';

export interface CatalogWatcherOptions {
  catalog: ServiceCatalog;
  live: LiveConfig;
  /** This process, as it reports itself (host:pid). */
  node: string;
  checkEveryMs: number;
  now?: () => number;
  log: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
  };
}

export class CatalogWatcher {
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;
  /** The check under way, and whether another was asked for meanwhile (reads never overlap). */
  private running: Promise<void> | undefined;
  private again = false;
  private refusedBefore = '';

  constructor(private readonly options: CatalogWatcherOptions) {}

  /** Applies the catalog as it is now, then follows it. */
  async start(): Promise<void> {
    this.unsubscribe = await this.options.catalog.subscribe(() => void this.check());
    await this.check();
    this.timer = setInterval(() => void this.check(), this.options.checkEveryMs);
    this.timer.unref();
  }

  /** Reads the catalog if its version moved, applies it, and reports; one at a time. */
  check(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.checkOnce()
      .catch((error: unknown) => this.options.log.warn({ err: error }, 'reading the service catalog failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          void this.check();
        }
      });
    return this.running;
  }

  /** Tells the fleet what this process runs now (after a file reload, say). */
  report(): Promise<void> {
    const now = this.options.now ?? Date.now;
    return this.options.catalog.report(this.options.node, this.options.live.version, now());
  }

  private async checkOnce(): Promise<void> {
    const { catalog, live, log } = this.options;
    if ((await catalog.version()) !== live.version.catalog) {
      const snapshot = await catalog.read();
      const { applied, refused } = live.setCatalog(snapshot);
      if (applied) {
        log.info({ catalog: snapshot.version, services: live.current.services.length }, 'service catalog applied');
        this.warnRefused(refused);
      }
    }
    await this.report();
  }

  /** Refused catalog services, said once each time the set changes (not every second). */
  private warnRefused(refused: readonly RefusedService[]): void {
    const said = JSON.stringify(refused);
    if (said === this.refusedBefore) return;
    this.refusedBefore = said;
    for (const { service, issues } of refused) {
      this.options.log.warn({ service, issues }, 'catalog service left out: the configuration refuses it');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.unsubscribe?.();
    await this.running;
  }
}

/** How a process names itself in the catalog's reports. */
export function nodeName(): string {
  return `${hostname()}:${process.pid}`;
}

/** A process that has not reported for this long is taken to be gone (three missed checks, at least 3 s). */
export function staleAfter(config: Config): number {
  return Math.max(3_000, 3 * config.catalog.checkEveryMs);
}
