/**
 * @module Services kept as data (config `catalog`): their definitions in Redis, created, changed
 * and deleted through the admin API, each change raising one version, written to an audit stream
 * and announced on pub/sub; every process reads them (services/catalog-watcher.ts) and reports the
 * configuration it has applied. The embedded store's catalog is the same in one process's memory.
 */
import { EventEmitter } from 'node:events';
import { Cluster } from 'ioredis';
import type { CatalogSnapshot, ConfigVersion } from '../config/live-config.js';
import type { RedisClient } from '../redis/connect.js';
import { CATALOG_CHANNEL, CATALOG_KEYS } from '../store/keys.js';
import { defineScripts, runScript } from '../store/scripts.js';

/** Who made a change: the token's scope and fingerprint (never the token), and the address. */
export interface Who {
  caller: string;
  address: string;
}

/** What a process reports having applied, and when. */
export interface NodeReport extends ConfigVersion {
  node: string;
  at: number;
}

/** One change, as the audit log keeps it. */
export interface AuditRecord {
  at: number;
  action: 'put' | 'delete';
  service: string;
  version: number;
  /** Who: the token's scope and fingerprint, never the token. */
  caller: string;
  address: string;
}

export interface ServiceCatalog {
  read(): Promise<CatalogSnapshot>;
  version(): Promise<number>;
  /** Stores a definition (already validated); `created` when the id was new. */
  put(service: string, definition: unknown, who: Who, now: number): Promise<{ version: number; created: boolean }>;
  /** Removes one; version is unchanged (and `removed` false) when it was not there. */
  remove(service: string, who: Who, now: number): Promise<{ version: number; removed: boolean }>;
  report(node: string, applied: ConfigVersion, now: number): Promise<void>;
  /** The processes that reported within `freshMs`; older reports are forgotten after an hour. */
  nodes(now: number, freshMs: number): Promise<NodeReport[]>;
  /** The latest changes, newest first. */
  audit(limit: number): Promise<AuditRecord[]>;
  /** Calls `onChange` with each announced version until the returned stop is called. */
  subscribe(onChange: (version: number) => void): Promise<() => Promise<void>>;
}

/** Reports older than this are removed when nodes are listed: processes that have gone. */
const FORGET_AFTER_MS = 3_600_000;
/** The audit stream keeps about this many changes. */
const AUDIT_LENGTH = 10_000;

function parseReport(node: string, text: string): NodeReport | undefined {
  try {
    const { file, catalog, at } = JSON.parse(text) as Partial<NodeReport>;
    if (typeof file === 'string' && typeof catalog === 'number' && typeof at === 'number') {
      return { node, file, catalog, at };
    }
  } catch {
    // not a report: ignored
  }
  return undefined;
}

export class RedisServiceCatalog implements ServiceCatalog {
  constructor(private readonly client: RedisClient) {}

  async read(): Promise<CatalogSnapshot> {
    // One transaction: the version and the services it names, never one without the other.
    const [[, version], [, services]] = (await this.client
      .multi()
      .get(CATALOG_KEYS.version)
      .hgetall(CATALOG_KEYS.services)
      .exec()) as [[null, string | null], [null, Record<string, string>]];
    const parsed = new Map<string, unknown>();
    for (const [id, text] of Object.entries(services)) {
      try {
        parsed.set(id, JSON.parse(text));
      } catch {
        // a definition that is not JSON (written by hand?) is left out; the assembly never sees it
      }
    }
    return { version: Number(version ?? 0), services: parsed };
  }

  async version(): Promise<number> {
    return Number((await this.client.get(CATALOG_KEYS.version)) ?? 0);
  }

  put(service: string, definition: unknown, who: Who, now: number) {
    return this.change('put', service, JSON.stringify(definition), who, now).then(([version, changed]) => ({
      version,
      created: changed === 1,
    }));
  }

  remove(service: string, who: Who, now: number) {
    return this.change('delete', service, '', who, now).then(([version, changed]) => ({
      version,
      removed: changed === 1,
    }));
  }

  /** lua/catalogChange-3.lua: stored, versioned, audited and announced at once. */
  private async change(action: 'put' | 'delete', service: string, definition: string, who: Who, now: number) {
    defineScripts(this.client);
    const keys = [CATALOG_KEYS.services, CATALOG_KEYS.version, CATALOG_KEYS.audit];
    const args = [action, service, definition, now, who.caller, who.address, CATALOG_CHANNEL, AUDIT_LENGTH];
    return (await runScript(this.client, 'catalogChange', keys, args)) as [number, number];
  }

  async report(node: string, applied: ConfigVersion, now: number): Promise<void> {
    await this.client.hset(CATALOG_KEYS.nodes, node, JSON.stringify({ ...applied, at: now }));
  }

  async nodes(now: number, freshMs: number): Promise<NodeReport[]> {
    const all = await this.client.hgetall(CATALOG_KEYS.nodes);
    const fresh: NodeReport[] = [];
    const gone: string[] = [];
    for (const [node, text] of Object.entries(all)) {
      const report = parseReport(node, text);
      if (!report || report.at < now - FORGET_AFTER_MS) gone.push(node);
      else if (report.at >= now - freshMs) fresh.push(report);
    }
    if (gone.length > 0) await this.client.hdel(CATALOG_KEYS.nodes, ...gone);
    return fresh.sort((a, b) => a.node.localeCompare(b.node));
  }

  async audit(limit: number): Promise<AuditRecord[]> {
    const entries = await this.client.xrevrange(CATALOG_KEYS.audit, '+', '-', 'COUNT', limit);
    return entries.map(([, fields]) => {
      const record: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i] as string] = fields[i + 1] as string;
      return {
        at: Number(record.at),
        action: record.action === 'delete' ? 'delete' : 'put',
        service: record.service ?? '',
        version: Number(record.version),
        caller: record.caller ?? '',
        address: record.address ?? '',
      };
    });
  }

  async subscribe(onChange: (version: number) => void): Promise<() => Promise<void>> {
    // Its own connection, resubscribing after every reconnection; the periodic check covers gaps.
    const subscriber: RedisClient =
      this.client instanceof Cluster
        ? this.client.duplicate(undefined, {
            enableOfflineQueue: true,
            lazyConnect: false,
            redisOptions: { maxRetriesPerRequest: null },
          })
        : this.client.duplicate({ enableOfflineQueue: true, lazyConnect: false, maxRetriesPerRequest: null });
    subscriber.on('error', () => undefined);
    subscriber.on('message', (channel: string, text: string) => {
      if (channel === CATALOG_CHANNEL && /^\d+$/.test(text)) onChange(Number(text));
    });
    await subscriber.subscribe(CATALOG_CHANNEL);
    return async () => {
      await subscriber.quit().catch(() => subscriber.disconnect());
    };
  }
}

/** The embedded store's catalog: one process, so its memory is the whole fleet. */
export class MemoryServiceCatalog implements ServiceCatalog {
  private services = new Map<string, unknown>();
  private current = 0;
  private readonly reports = new Map<string, NodeReport>();
  private readonly records: AuditRecord[] = [];
  private readonly changes = new EventEmitter();

  async read(): Promise<CatalogSnapshot> {
    return { version: this.current, services: new Map(this.services) };
  }

  async version(): Promise<number> {
    return this.current;
  }

  async put(service: string, definition: unknown, who: Who, now: number) {
    const created = !this.services.has(service);
    this.services = new Map(this.services).set(service, structuredClone(definition));
    return { version: this.changed({ at: now, action: 'put', service, version: 0, ...who }), created };
  }

  async remove(service: string, who: Who, now: number) {
    if (!this.services.has(service)) return { version: this.current, removed: false };
    this.services = new Map(this.services);
    this.services.delete(service);
    return { version: this.changed({ at: now, action: 'delete', service, version: 0, ...who }), removed: true };
  }

  private changed(record: AuditRecord): number {
    const version = ++this.current;
    this.records.unshift({ ...record, version });
    this.records.length = Math.min(this.records.length, AUDIT_LENGTH);
    this.changes.emit('change', version);
    return version;
  }

  async report(node: string, applied: ConfigVersion, now: number): Promise<void> {
    this.reports.set(node, { node, ...applied, at: now });
  }

  async nodes(now: number, freshMs: number): Promise<NodeReport[]> {
    return [...this.reports.values()].filter((report) => report.at >= now - freshMs);
  }

  async audit(limit: number): Promise<AuditRecord[]> {
    return this.records.slice(0, limit);
  }

  async subscribe(onChange: (version: number) => void): Promise<() => Promise<void>> {
    this.changes.on('change', onChange);
    return async () => {
      this.changes.off('change', onChange);
    };
  }
}
