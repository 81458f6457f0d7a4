/**
 * @module The configuration file's schema: strict objects everywhere, so a misspelt key is an
 * error and never a silent default. Units are part of the names (…Ms, …Bytes).
 */
import { z } from 'zod';
import { cacheRule } from '../rules/schema.js';
import { fetchSchema } from './fetch.js';
import { keySchema } from './key-schema.js';
import { regionSchema, syncSchema } from './regions.js';
import { edgeTlsSchema, serviceTlsSchema } from './tls.js';
import { byteSize, cidr, durationMs, listen } from './units.js';

export {
  DEFAULT_BUCKET_USER_AGENTS,
  DEFAULT_DROP_QUERY,
  DEFAULT_FRAMEWORK_HEADERS,
  DEFAULT_IGNORED_COOKIES,
} from './key-schema.js';

const hostname = z
  .string()
  .transform((h) => h.toLowerCase())
  .refine((h) => /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(h), {
    error: 'must be a host name such as "www.example.com" or a wildcard such as "*.example.com" (no port, no scheme)',
  });

const origin = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).refine((u) => {
    const parsed = new URL(u);
    return parsed.search === '' && parsed.hash === '' && parsed.username === '';
  }, 'must be a base URL without query, fragment or credentials'),
  connectTimeoutMs: durationMs.default(2_000),
  /** Time allowed for the origin's response headers, and then between two body chunks. */
  responseTimeoutMs: durationMs.default(15_000),
  maxConnections: z.number().int().min(1).max(10_000).default(128),
  /**
   * Origin response statuses that count as the origin failing: they open the circuit breaker and,
   * for a request that has a stale entry, are replaced by that entry (stale-if-error).
   */
  failureStatuses: z.array(z.number().int().min(500).max(599)).default([500, 502, 503, 504]),
  /**
   * After `failures` consecutive failures (seen by any edge node, counted in Redis), every node
   * stops sending this service's requests to its origin for `cooldownMs`: stale entries are served,
   * others fail fast with 503. Then one probe request goes through; success closes the circuit.
   */
  circuitBreaker: z
    .strictObject({
      enabled: z.boolean().default(true),
      failures: z.number().int().min(1).default(5),
      cooldownMs: durationMs.default(5_000).refine((ms) => ms >= 100, { error: 'at least 100 ms' }),
    })
    .prefault({}),
});

const cache = z
  .strictObject({
    /** Larger bodies are streamed through and never stored. */
    maxObjectBytes: byteSize.default(8 * 1024 * 1024),
    /**
     * Bodies past `aboveBytes` are stored as chunks of `chunkBytes` (docs/large-objects.md): a hit
     * reads the chunks it sends, one ahead of the client, a range only those it covers. Such bodies
     * are stored as the origin sent them (no compressed or image variants).
     */
    chunks: z
      .strictObject({
        aboveBytes: byteSize.default(2 * 1024 * 1024),
        chunkBytes: byteSize
          .default(1024 * 1024)
          .refine((bytes) => bytes >= 64 * 1024 && bytes <= 64 * 1024 * 1024, { error: 'between 64 KiB and 64 MiB' }),
      })
      .prefault({}),
    /** Objects kept for this service: past it, its least frequently used entries are evicted. */
    maxObjects: z.number().int().min(1).default(50_000),
    /** Optional cap on the body bytes kept for this service (0: none), enforced like maxObjects. */
    maxBytes: byteSize.default(0),
    /**
     * A byte quota that refuses rather than evicts (KissCache's; docs/large-objects.md): past
     * `bytes`, a miss is answered 507 (`refuse`) or passed through uncached (`pass`), and a
     * clean-up takes the service down to `lowWater` of it, least frequently used first.
     */
    quota: z
      .strictObject({
        bytes: byteSize.default(0),
        whenFull: z.enum(['refuse', 'pass']).default('refuse'),
        lowWater: z.number().gt(0).lt(1).default(0.75),
      })
      .prefault({}),
    /**
     * Response headers whose values tag an entry for purging by tag (space- or comma-separated):
     * Fastly's Surrogate-Key and Cloudflare's Cache-Tag by default. Tags are scoped to the service.
     */
    tagHeaders: z
      .array(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { error: 'must be a header name' }))
      .default(['surrogate-key', 'cache-tag'])
      .transform((names) => names.map((n) => n.toLowerCase())),
    /** Pass the tagging headers on to clients (normally consumed by the edge, as CDNs do). */
    forwardTagHeaders: z.boolean().default(false),
    /** How fast hits fade for LFU eviction: a hit this long ago counts half as much as one now. */
    lfuHalfLifeMs: durationMs.default(86_400_000).refine((ms) => ms >= 1000, { error: 'at least 1 s' }),
    /** RFC 9111 §4.2.2 heuristic freshness; off unless the service turns it on. */
    heuristicFreshness: z
      .strictObject({ enabled: z.boolean().default(false), maxSeconds: z.number().int().min(0).default(86_400) })
      .prefault({}),
    /** How long a response found uncacheable makes later requests skip coalescing (hit-for-miss). */
    uncacheableMemoryMs: durationMs.default(30_000),
    /**
     * How long a stale response that has a validator (ETag, Last-Modified) is kept, so the origin
     * can answer 304 instead of sending the body again.
     */
    keepForRevalidationMs: durationMs.default(86_400_000),
    /**
     * Serving stale content (RFC 5861). `stale-while-revalidate` and `stale-if-error` from the origin
     * are honoured; `graceMs` is how long past freshness an entry is still served when the origin
     * fails and sent no stale-if-error (like Varnish's grace). Entries stay in Redis for their
     * freshness plus the longest of these windows.
     */
    stale: z
      .strictObject({
        graceMs: durationMs.default(86_400_000),
        /**
         * Let an outage override must-revalidate, proxy-revalidate, s-maxage and no-cache, which
         * otherwise forbid stale serving (RFC 9111 §4.2.4): users get yesterday's page instead of
         * an error, against the origin's stated wish.
         */
        overrideRevalidateOnError: z.boolean().default(false),
      })
      .prefault({}),
    /** RFC 9213: pass CDN-Cache-Control / Surrogate-Control on to clients (normally consumed here). */
    forwardTargetedCacheControl: z.boolean().default(false),
    /**
     * Store responses that carry Set-Cookie, with the cookie removed from the stored copy (only the
     * request that fetched it receives the cookie). Off: such responses are never stored.
     */
    stripSetCookie: z.boolean().default(false),
    /**
     * A cache fill whose request still carries a cookie (after key.cookies.ignore): "when-varied"
     * stores the response only if it says `Vary: Cookie` (a page rendered for one visitor's cookie
     * is never given to the next); "always" follows RFC 9111 and trusts the origin's headers alone.
     */
    requestCookies: z.enum(['when-varied', 'always']).default('when-varied'),
  })
  .refine((c) => c.quota.bytes === 0 || c.maxBytes === 0, {
    error: 'a byte quota refuses new objects where maxBytes evicts old ones: set one of them',
    path: ['quota', 'bytes'],
  })
  .prefault({});

/** Per-service access rules and rate limits (WAAP basics). */
const waap = z
  .strictObject({
    /** When non-empty, only clients in these blocks are served (403 otherwise). */
    allow: z.array(cidr).default([]),
    /** Clients in these blocks get 403. Checked before `allow`. */
    deny: z.array(cidr).default([]),
    /** Requests per client address per window, shared by every edge node (429 beyond it). */
    rateLimit: z
      .strictObject({
        requests: z.number().int().min(1),
        windowMs: durationMs.default(10_000).refine((ms) => ms >= 100, { error: 'at least 100 ms' }),
      })
      .optional(),
  })
  .prefault({});

/** Media types the edge compresses itself (parameters ignored; a trailing "*" matches a prefix). */
const DEFAULT_COMPRESSIBLE = [
  'text/*',
  'application/javascript',
  'application/json',
  'application/*+json',
  'application/xml',
  'application/*+xml',
  'application/manifest+json',
  'application/wasm',
  'image/svg+xml',
  'font/ttf',
  'font/otf',
];

/** Transforms made once, when a response is stored (never on a hit). */
const transform = z
  .strictObject({
    compress: z
      .strictObject({
        enabled: z.boolean().default(true),
        types: z
          .array(
            z
              .string()
              .toLowerCase()
              .regex(/^[a-z0-9!#$&^_.+*-]+\/[a-z0-9!#$&^_.+*-]+$/),
          )
          .default(DEFAULT_COMPRESSIBLE),
        /** Smaller bodies are stored as they are: compressing them saves little and costs a key each. */
        minBytes: byteSize.default(1024),
        /** Brotli quality 0–11 (see docs/benchmarks.md for the measured cost); never 11 by default. */
        brotliQuality: z.number().int().min(0).max(11).default(5),
        gzipLevel: z.number().int().min(1).max(9).default(6),
      })
      .prefault({}),
    /**
     * JPEG, PNG, WebP, GIF and AVIF responses: stored as sent, then re-encoded off the request path
     * (metadata stripped, colour profile kept), as AVIF / WebP for clients that accept them; a
     * result replaces the original only when smaller.
     */
    images: z
      .strictObject({
        enabled: z.boolean().default(true),
        quality: z.number().int().min(1).max(100).default(75),
        /** Chosen on the curve of bytes against SSIM (docs/transforms.md): AVIF at WebP 75's quality. */
        avifQuality: z.number().int().min(1).max(100).default(45),
        avifEffort: z.number().int().min(0).max(9).default(2),
        /** PNG re-encoded without loss, or quantised to a palette (docs/transforms.md argues the default). */
        png: z.enum(['lossless', 'lossy']).default('lossless'),
        /** Larger images (width × height) stay as the origin sent them. */
        maxPixels: z.number().int().min(1).default(40_000_000),
        /** Images re-encoded at once on each edge process (sharp's work runs off the event loop). */
        concurrency: z.number().int().min(1).max(16).default(1),
        /** Images waiting beyond this are left as they are. */
        queueLimit: z.number().int().min(1).default(256),
        timeoutMs: durationMs.default(20_000),
      })
      .prefault({}),
  })
  .prefault({});

const adminToken = z.string().min(16, { error: 'admin tokens are at least 16 characters' });

const serviceId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, {
  error: 'service ids are 1-63 lower-case letters, digits, "-" or "_" (they become part of Redis keys)',
});

export const serviceSchema = z.strictObject({
  id: serviceId,
  hosts: z.array(hostname).min(1),
  origin,
  cache,
  key: keySchema,
  waap,
  transform,
  /** HTTPS: the service's certificate, the redirect from HTTP, HSTS (docs/tls.md). */
  tls: serviceTlsSchema,
  /** The operator's cache rules: an ordered list, first match wins (docs/rules.md). */
  rules: z.array(cacheRule).max(500).default([]),
  /** Fetch-by-URL for artefact users (KissCache's API; docs/large-objects.md): off unless set. */
  fetch: fetchSchema.optional(),
});

const redis = z
  .strictObject({
    url: z
      .string()
      .regex(/^(rediss?|redis\+cluster):\/\//, {
        error: 'must be a redis://, rediss:// or redis+cluster://host:port,host:port… URL',
      })
      .default('redis://127.0.0.1:6379'),
    /**
     * A Redis Cluster's seed nodes (`host:port`): when given, the edge runs on the cluster (ioredis'
     * Cluster client; the same as `url: redis+cluster://host:port,host:port…`) and `url` is not used.
     */
    cluster: z.array(z.string().regex(/^[^\s:,/]+:\d{1,5}$/, { error: 'must be host:port' })).default([]),
    /**
     * What to do when Redis cannot be reached at start-up. Production edges keep "none" (refuse to
     * start); the example config uses "local-or-embedded" so a newcomer's edge always starts.
     */
    fallback: z.enum(['none', 'local', 'local-or-embedded']).default('none'),
    /**
     * The shortest wait for a read on the request path (a lookup). The wait adapts to the latency
     * reads really have (twice the p99 of the last 512 reads), between this and readTimeoutMaxMs. Past it the lookup counts as failed (`detail=store-timeout`): the
     * request goes to the origin (coalesced), or is answered from the L1.
     */
    readTimeoutMs: durationMs.default(50).refine((ms) => ms >= 1, { error: 'at least 1 ms' }),
    /** The longest a lookup ever waits, however slow recent reads were. */
    readTimeoutMaxMs: durationMs.default(1_000).refine((ms) => ms >= 1, { error: 'at least 1 ms' }),
    /** Longest wait for any other Redis call (stores, purges, stats, leases). */
    commandTimeoutMs: durationMs.default(500).refine((ms) => ms >= 1, { error: 'at least 1 ms' }),
    /**
     * Key spaces (Redis Cluster hash slots) each service's cache is split into, by URL: 1 keeps a
     * service in one slot; on a cluster, at least the number of masters lets a big service use them
     * all. Each space holds its share of the caps. Every node must use the same value; changing it
     * starts the cache cold (docs/redis-layout.md, "Key spaces").
     */
    serviceShards: z.number().int().min(1).max(256).default(1),
    /**
     * Commands issued in the same turn of the event loop go to Redis in one write and are read back
     * together (ioredis' auto-pipelining): fewer writes and reads for Redis, but the edge's misses
     * were slower in the interleaved bench (docs/redis-layout.md), so off by default, for a fleet
     * whose shared Redis is the bottleneck. Never on a Redis Cluster target (ioredis' cluster
     * pipelines mis-route some scripts).
     */
    autoPipelining: z.boolean().default(false),
  })
  .prefault({})
  .refine((r) => r.readTimeoutMaxMs >= r.readTimeoutMs, {
    error: 'must be at least readTimeoutMs',
    path: ['readTimeoutMaxMs'],
  })
  // One target from here on: a cluster's seeds become its redis+cluster:// URL.
  .transform((r) => (r.cluster.length > 0 ? { ...r, url: `redis+cluster://${r.cluster.join(',')}` } : r));

const l1 = z
  .strictObject({
    maxBytes: byteSize.default(64 * 1024 * 1024),
    /** Entries are kept at most this long in a node's memory, which bounds how stale a purge can leave it. */
    ttlMs: durationMs.default(1_000),
    maxEntryBytes: byteSize.default(1024 * 1024),
  })
  .prefault({});

export const configSchema = z
  .strictObject({
    edge: z
      .strictObject({
        listen: listen('0.0.0.0', 8080),
        /** Worker processes; "auto" is one per CPU core. */
        workers: z.union([z.literal('auto'), z.number().int().min(1).max(256)]).default('auto'),
        /** Request line and headers together (Node answers 431 beyond it). */
        maxHeaderBytes: byteSize.default(16 * 1024),
        /** More request header lines than this: 431. */
        maxHeaderCount: z.number().int().min(8).max(1000).default(100),
        /** A longer request-target: 414. */
        maxUrlBytes: byteSize.default(8 * 1024),
        /** Request bodies (passed to the origin) larger than this: 413. */
        maxBodyBytes: byteSize.default(16 * 1024 * 1024),
        /**
         * Load balancers or proxies in front of the edge: only when the connection comes from one
         * of these is X-Forwarded-For read for the client address.
         */
        trustedProxies: z.array(cidr).default([]),
        /** On SIGTERM, in-flight responses get this long to finish before their connections are cut. */
        shutdownGraceMs: durationMs.default(10_000),
        /** One JSON log line per request (service, cache status, key hash, status, bytes, times). */
        accessLog: z.boolean().default(true),
        /**
         * The V8 heap each forked worker may grow to: "auto" is the L1 plus 192 MiB, so the
         * collector runs before a worker outgrows its memory budget; 0 leaves V8's own default.
         */
        workerHeapBytes: z.union([z.literal('auto'), byteSize]).default('auto'),
        /** The HTTPS listener (SNI, HTTP/2), beside the plain one; absent: plain HTTP only (docs/tls.md). */
        tls: edgeTlsSchema,
      })
      .prefault({}),
    /**
     * Prometheus metrics of all workers together, served by `cachefront serve`'s primary process
     * (each admin listener's /metrics shows only the worker that answers).
     */
    metrics: z.strictObject({ listen: listen('127.0.0.1', 9464) }).prefault({}),
    admin: z
      .strictObject({
        listen: listen('127.0.0.1', 9091),
        /** Bearer tokens (at least 16 characters): operators reach every service, service tokens one. */
        tokens: z
          .strictObject({
            operator: z.array(adminToken).default([]),
            services: z.record(z.string(), z.array(adminToken)).default({}),
          })
          .prefault({}),
        /** When non-empty, only these client blocks may reach the admin listener at all. */
        allow: z.array(cidr).default([]),
      })
      .prefault({}),
    redis,
    l1,
    region: regionSchema(redis),
    sync: syncSchema,
    /**
     * Services kept as data in Redis, created and deleted through the admin API, besides the
     * file's (docs/operations.md, "Onboarding a customer"). Off: the file alone says what is served.
     */
    catalog: z
      .strictObject({
        enabled: z.boolean().default(false),
        /** How often each process checks the catalog's version, besides the change announcements. */
        checkEveryMs: durationMs.default(1_000).refine((ms) => ms >= 50, { error: 'at least 50 ms' }),
      })
      .prefault({}),
    services: z.array(serviceSchema).default([]),
  })
  .superRefine((config, ctx) => {
    if (config.services.length === 0 && !config.catalog.enabled) {
      ctx.addIssue({
        code: 'custom',
        message: 'at least one service is needed (or catalog.enabled, to take them from Redis)',
        path: ['services'],
      });
    }
    const regions = new Set(config.region ? [config.region.id] : []);
    config.region?.peers.forEach((peer, i) => {
      if (regions.has(peer.id)) {
        ctx.addIssue({
          code: 'custom',
          message: `region "${peer.id}" is named twice`,
          path: ['region', 'peers', i, 'id'],
        });
      }
      regions.add(peer.id);
    });
    // With a catalog, a service token may name a service the catalog has not created yet.
    for (const service of config.catalog.enabled ? [] : Object.keys(config.admin.tokens.services)) {
      if (!config.services.some((s) => s.id === service)) {
        ctx.addIssue({
          code: 'custom',
          message: `no service "${service}" is configured`,
          path: ['admin', 'tokens', 'services', service],
        });
      }
    }
    const ids = new Map<string, number>();
    const hosts = new Map<string, string>();
    config.services.forEach((service, i) => {
      const seen = ids.get(service.id);
      if (seen !== undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `duplicate service id (also services.${seen})`,
          path: ['services', i, 'id'],
        });
      }
      ids.set(service.id, i);
      service.hosts.forEach((host, j) => {
        const owner = hosts.get(host);
        if (owner !== undefined) {
          ctx.addIssue({
            code: 'custom',
            message: `host "${host}" is already served by service "${owner}"`,
            path: ['services', i, 'hosts', j],
          });
        }
        hosts.set(host, service.id);
      });
    });
  });

export type Config = z.output<typeof configSchema>;
export type ServiceConfig = z.output<typeof serviceSchema>;
export type DeviceConfig = ServiceConfig['key']['device'];
