/**
 * @module The configuration a process serves, and how it changes while it runs: the file's
 * document (replaced on reload) with the catalog's services after the file's (services kept as
 * data in Redis, docs/operations.md). One schema validates the whole. A new file that does not
 * validate is refused and the running configuration stays; a catalog service the whole refuses (a
 * host the file now serves, say) is left out and named, the others served.
 */
import { createHash } from 'node:crypto';
import { type Environment, issuesOf, parseConfig, readConfigDocument } from './load.js';
import type { Config } from './schema.js';

/** The catalog's services at one version: id → the service as the API stored it (schema input). */
export interface CatalogSnapshot {
  version: number;
  services: ReadonlyMap<string, unknown>;
}

export const EMPTY_CATALOG: CatalogSnapshot = { version: 0, services: new Map() };

/** Which configuration a process runs: the file's digest and the catalog's version. */
export interface ConfigVersion {
  file: string;
  catalog: number;
}

/** What a reload did: applied by every process, or refused with the file's issues. */
export type ReloadResult =
  | { ok: true; file: string; processes: number; applied: number; restartNeeded: string[] }
  | { ok: false; code: string; message: string; issues: string[] };

/** A catalog service left out of the configuration, and why. */
export interface RefusedService {
  service: string;
  issues: string[];
}

/** The file's text, named by a short digest (what `cachefront reload` and nodes report). */
export function fileDigest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/**
 * The file's document with the catalog's services appended, validated whole. Issues pointing into
 * the catalog's services drop those services (file wins); any other issue is the file's, thrown.
 */
export function assembleConfig(
  document: unknown,
  source: string,
  catalog: CatalogSnapshot,
  env: Environment,
): { config: Config; refused: RefusedService[] } {
  const base = (typeof document === 'object' && document !== null ? document : {}) as Record<string, unknown>;
  const fileServices = Array.isArray(base.services) ? (base.services as unknown[]) : [];
  // By id: every process assembles the same configuration whatever order Redis lists them in.
  let candidates = [...catalog.services.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const refused: RefusedService[] = [];
  for (;;) {
    // The catalog's key names the service, whatever the definition says.
    const stored = candidates.map(([id, service]) => ({ ...(service as object), id }));
    const raw = { ...base, services: [...fileServices, ...stored] };
    try {
      return { config: parseConfig(raw, source, env), refused };
    } catch (error) {
      const bad = new Map<number, string[]>();
      for (const line of issuesOf(error)) {
        const index = Number(/^services\.(\d+)\b/.exec(line)?.[1] ?? -1) - fileServices.length;
        if (index >= 0) bad.set(index, [...(bad.get(index) ?? []), line]);
      }
      if (bad.size === 0) throw error;
      for (const [index, issues] of bad) refused.push({ service: (candidates[index] as [string, unknown])[0], issues });
      candidates = candidates.filter((_, index) => !bad.has(index));
    }
  }
}

export class LiveConfig {
  private document: unknown;
  private digest: string;
  private catalog: CatalogSnapshot = EMPTY_CATALOG;
  private config: Config;
  private refusedNow: RefusedService[] = [];
  private readonly listeners: ((config: Config) => void)[] = [];

  /** Throws ConfigInvalid when the text does not validate. */
  constructor(
    text: string,
    private readonly source: string,
    private readonly env: Environment = process.env,
  ) {
    this.document = readConfigDocument(text, source);
    this.digest = fileDigest(text);
    this.config = parseConfig(this.document, source, env);
  }

  get current(): Config {
    return this.config;
  }

  get version(): ConfigVersion {
    return { file: this.digest, catalog: this.catalog.version };
  }

  /** The ids of the file's services (the catalog may not redefine them). */
  get fileServices(): ReadonlySet<string> {
    const services = (this.document as { services?: unknown } | null)?.services;
    return new Set(
      (Array.isArray(services) ? services : []).map((service) => String((service as { id?: unknown } | null)?.id)),
    );
  }

  /** Catalog services the running configuration leaves out. */
  get refused(): readonly RefusedService[] {
    return this.refusedNow;
  }

  /** Called with every configuration applied from now on. */
  onChange(listener: (config: Config) => void): void {
    this.listeners.push(listener);
  }

  /**
   * A new file text: validated alone first (its errors are the file's), then with the catalog.
   * Throws ConfigInvalid and keeps the running configuration when it does not validate.
   */
  setFile(text: string): Config {
    const document = readConfigDocument(text, this.source);
    parseConfig(document, this.source, this.env);
    const assembled = assembleConfig(document, this.source, this.catalog, this.env);
    this.document = document;
    this.digest = fileDigest(text);
    return this.apply(assembled);
  }

  /**
   * The catalog at another version (the same one changes nothing). A lower one is applied too: the
   * catalog was emptied (Redis flushed), and its reads are never reordered (one at a time).
   */
  setCatalog(snapshot: CatalogSnapshot): { applied: boolean; refused: readonly RefusedService[] } {
    if (snapshot.version === this.catalog.version) return { applied: false, refused: this.refusedNow };
    const assembled = assembleConfig(this.document, this.source, snapshot, this.env);
    this.catalog = snapshot;
    this.apply(assembled);
    return { applied: true, refused: this.refusedNow };
  }

  private apply(assembled: { config: Config; refused: RefusedService[] }): Config {
    this.config = assembled.config;
    this.refusedNow = assembled.refused;
    for (const listener of this.listeners) listener(this.config);
    return this.config;
  }
}
