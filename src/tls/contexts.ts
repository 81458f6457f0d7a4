/**
 * @module The certificates an edge process serves, one TLS context per service, and the choice
 * among them for each handshake (SNI). A certificate is served only for the hosts of the service
 * it belongs to, and only where its names cover the name asked for; anything else gets the
 * configured default certificate or a refused handshake — never another customer's certificate.
 * Every check (`refresh`) re-reads what changed (files, or the copy kept in Redis); a certificate
 * that fails its checks is not served, and one served before stays until a good one replaces it.
 */
import { readFileSync, statSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { ServiceConfig } from '../config/schema.js';
import type { EdgeTlsConfig } from '../config/tls.js';
import {
  type CertificateInfo,
  type CertificatePair,
  certificateProblems,
  inspectCertificate,
  nameCovers,
} from './certificate.js';
import type { CertificateStore } from './certificate-store.js';

/** A certificate kept in Redis for the fleet (set through the admin API). */
export interface StoredCertificate extends CertificatePair {
  /** Changes with every new certificate: what `refresh` compares. */
  version: string;
}

export interface TlsLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** A certificate being served, and what it was built from. */
export interface Served {
  service: string;
  /** The files, or "admin API": named in errors and in the admin API's answers. */
  source: string;
  info: CertificateInfo;
  context: SecureContext;
  ocsp: Buffer | undefined;
  /** The files' sizes and times (or the stored version) and the hosts it was checked against. */
  stamp: string;
  /** The session ticket keys it was built with (their generation). */
  keys: number;
  /** The default certificate's PEM: the listener's own context is built from it (clients without SNI). */
  pair?: CertificatePair;
}

/** Where a certificate comes from, read only when its stamp changed. */
interface Origin {
  service: string;
  hosts: readonly string[];
  source: string;
  stamp: string;
  read: () => Promise<{ pair: CertificatePair; ocsp?: Buffer }>;
}

/** The name the default certificate is kept under (no service id can be empty). */
const DEFAULT = '';
/** SNI names remembered: the choice is a lookup, not a scan, for the names clients really send. */
const MEMO_LIMIT = 10_000;

function fileStamp(path: string): string {
  try {
    const stat = statSync(path);
    return `${stat.size}:${stat.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

export interface RefreshResult {
  /** Something served changed (a certificate loaded, replaced or dropped). */
  changed: boolean;
  /** Certificates that failed their checks, each naming the service and the file. */
  failures: { service: string; source: string; problems: string[] }[];
}

export interface TlsContextsOptions {
  settings: EdgeTlsConfig;
  /** The service a host name belongs to, as the request path resolves it. */
  serviceFor: (host: string) => ServiceConfig | undefined;
  stored?: CertificateStore;
  log: TlsLog;
  now?: () => number;
}

export class TlsContexts {
  private readonly served = new Map<string, Served>();
  private readonly memo = new Map<string, SecureContext | null>();
  private ticketKeys: Buffer | undefined;
  private keysGeneration = 0;
  private readonly now: () => number;

  constructor(private readonly options: TlsContextsOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The context for a handshake's SNI name, or undefined: refuse it. */
  select(servername: string): SecureContext | undefined {
    const name = servername.toLowerCase();
    const known = this.memo.get(name);
    if (known !== undefined) return known ?? undefined;
    const service = this.options.serviceFor(name);
    const own = service ? this.served.get(service.id) : undefined;
    const chosen = own?.info.names.some((covering) => nameCovers(covering, name)) ? own : this.served.get(DEFAULT);
    if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
    this.memo.set(name, chosen?.context ?? null);
    return chosen?.context;
  }

  /** The default certificate (clients without SNI get it), if one is configured and valid. */
  get fallbackPair(): CertificatePair | undefined {
    return this.served.get(DEFAULT)?.pair;
  }

  /** The served certificate whose leaf has this SHA-256 (OCSP stapling asks by certificate). */
  byFingerprint(fingerprint: string): Served | undefined {
    for (const served of this.served.values()) if (served.info.fingerprint === fingerprint) return served;
    return undefined;
  }

  /** What each service (and the default, as "") serves: for metrics and the admin API. */
  list(): Served[] {
    return [...this.served.values()];
  }

  /** The session ticket keys every context is built with (the node's, shared by its workers). */
  get currentTicketKeys(): Buffer | undefined {
    return this.ticketKeys;
  }

  /** New session ticket keys: every context is rebuilt with them at the next refresh. */
  rotateTicketKeys(keys: Buffer): void {
    this.ticketKeys = keys;
    this.keysGeneration++;
  }

  /**
   * Checks every certificate the services name against what is served, and (re)builds those that
   * changed. Returns the problems found, each naming the service and the file.
   */
  async refresh(services: readonly ServiceConfig[]): Promise<RefreshResult> {
    const origins = await this.origins(services);
    const failures: RefreshResult['failures'] = [];
    let changed = false;
    const wanted = new Set(origins.map((origin) => origin.service));
    for (const id of this.served.keys()) {
      if (!wanted.has(id)) {
        this.served.delete(id);
        changed = true;
      }
    }
    for (const origin of origins) {
      const before = this.served.get(origin.service);
      if (before && before.stamp === origin.stamp && before.keys === this.keysGeneration) continue;
      try {
        const { pair, ocsp } = await origin.read();
        const info = inspectCertificate(pair);
        const problems = certificateProblems(info, origin.hosts, this.now());
        if (problems.length > 0) throw new Error(problems.join('; '));
        const context = createSecureContext({
          cert: pair.cert,
          key: pair.key,
          minVersion: this.options.settings.minVersion,
          ciphers: this.options.settings.ciphers,
          honorCipherOrder: true,
          ...(this.ticketKeys ? { ticketKeys: this.ticketKeys } : {}),
        });
        this.served.set(origin.service, {
          service: origin.service,
          source: origin.source,
          info,
          context,
          ocsp,
          stamp: origin.stamp,
          keys: this.keysGeneration,
          ...(origin.service === DEFAULT ? { pair } : {}),
        });
        changed = true;
        this.options.log.info(
          {
            service: origin.service || '(default)',
            source: origin.source,
            names: info.names,
            notAfter: new Date(info.notAfter).toISOString(),
          },
          before ? 'certificate replaced' : 'certificate loaded',
        );
      } catch (error) {
        const problems = [(error as Error).message];
        failures.push({ service: origin.service, source: origin.source, problems });
        if (before) {
          // Tried once per change: the failing files are not read again until they change again.
          this.served.set(origin.service, { ...before, stamp: origin.stamp, keys: this.keysGeneration });
        }
        this.options.log.error(
          { service: origin.service || '(default)', file: origin.source, problems },
          before ? 'certificate not replaced: the previous one is still served' : 'certificate not served',
        );
      }
    }
    if (changed) this.memo.clear();
    return { changed, failures };
  }

  private async origins(services: readonly ServiceConfig[]): Promise<Origin[]> {
    const origins: Origin[] = [];
    const files = (
      service: string,
      hosts: readonly string[],
      files: NonNullable<ServiceConfig['tls']['certificate']>,
    ): Origin => ({
      service,
      hosts,
      source: files.cert === files.key ? files.cert : `${files.cert} (key ${files.key})`,
      stamp: [files.cert, files.key, files.ocspResponse ?? '']
        .map((path) => (path ? fileStamp(path) : ''))
        .concat(hosts)
        .join('\n'),
      read: async () => ({
        pair: { cert: readText(files.cert), key: readText(files.key) },
        ...(files.ocspResponse ? { ocsp: readFileSync(files.ocspResponse) } : {}),
      }),
    });
    const fallback = this.options.settings.defaultCertificate;
    if (fallback) origins.push(files(DEFAULT, [], fallback));
    // One read (one GET while nothing changed) for every stored certificate.
    const stored = this.options.stored ? await this.options.stored.load() : undefined;
    for (const service of services) {
      if (service.tls.certificate) {
        origins.push(files(service.id, service.hosts, service.tls.certificate));
        continue;
      }
      const kept = stored?.get(service.id);
      if (!kept) continue;
      origins.push({
        service: service.id,
        hosts: service.hosts,
        source: 'admin API',
        stamp: [kept.version, ...service.hosts].join('\n'),
        read: async () => ({ pair: kept }),
      });
    }
    return origins;
  }
}
