/**
 * @module What the edge tells Prometheus. One set of metrics per process, on prom-client's default
 * registry, so `cachefront serve`'s primary can aggregate its workers (metrics/server.ts). Names
 * follow Prometheus conventions: base units (seconds, bytes), `_total` for counters, histograms
 * for latencies. Labels stay bounded: service ids (from the configuration), fixed enumerations —
 * never a URL, a key or a client address.
 */
import cluster from 'node:cluster';
import { AggregatorRegistry, Counter, collectDefaultMetrics, Gauge, Histogram, register } from 'prom-client';
import { RequestTally } from './request-tally.js';

export const CACHE_STATUSES = ['hit', 'miss', 'bypass', 'refresh', 'updating', 'stale', 'error'] as const;

/** The operations RedisStore labels its calls with. */
export const REDIS_OPERATIONS = [
  'get',
  'get_vary',
  'get_object',
  'get_chunk',
  'put_chunk',
  'trim',
  'store',
  'index',
  'mark_uncacheable',
  'invalidate',
  'mark_purge',
  'add_stats',
  'read_stats',
  'scan_entries',
  'purge_entries',
  'touch',
  'rate_limit',
  'lease',
  'origin_health',
] as const;
export type CacheStatusLabel = (typeof CACHE_STATUSES)[number];

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function counter<L extends string>(name: string, help: string, labelNames: readonly L[]) {
  return (register.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames });
}

function histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) {
  return (
    (register.getSingleMetric(name) as Histogram<L> | undefined) ?? new Histogram({ name, help, labelNames, buckets })
  );
}

/** Requests by service and cache status: counted on the request path without prom-client's per-call work. */
const requestTally = new RequestTally(LATENCY_BUCKETS);

/** Counts a request answered, and how long it took (cachefront_requests_total, cachefront_request_duration_seconds). */
export function recordRequest(service: string, status: CacheStatusLabel, seconds: number): void {
  requestTally.record(service, status, seconds);
}

function registerRequestTally(): void {
  if (register.getSingleMetric('cachefront_requests_total')) return;
  const collectors = [
    requestTally.counter('cachefront_requests_total', 'Requests answered, by service and cache status.'),
    requestTally.histogram(
      'cachefront_request_duration_seconds',
      'Time from request to the end of the response, by service and cache status.',
    ),
  ];
  for (const collector of collectors)
    register.registerMetric(collector as unknown as Parameters<typeof register.registerMetric>[0]);
}

export const metrics = {
  bytes: counter(
    'cachefront_bytes_total',
    'Body bytes: served from cache ("cache"), received from the origin ("origin").',
    ['service', 'source'],
  ),
  originRequests: counter('cachefront_origin_requests_total', 'Requests sent to origins, by outcome.', [
    'service',
    'outcome',
  ]),
  originErrors: counter(
    'cachefront_origin_errors_total',
    'Origin failures: connect, timeout, broken (not valid HTTP) or status (a failure status).',
    ['service', 'kind'],
  ),
  originDuration: histogram(
    'cachefront_origin_duration_seconds',
    'Time until the origin’s response head (or its failure).',
    ['service'],
    LATENCY_BUCKETS,
  ),
  redisDuration: histogram(
    'cachefront_redis_command_duration_seconds',
    'Redis calls by operation (a Lua script counts as one call).',
    ['operation'],
    LATENCY_BUCKETS,
  ),
  redisErrors: counter('cachefront_redis_errors_total', 'Redis calls that failed or timed out.', ['operation']),
  quotaRefusals: counter(
    'cachefront_quota_refusals_total',
    'Misses past the service’s byte quota: refused (507) or passed through uncached.',
    ['service', 'action'],
  ),
  fetchRefusals: counter(
    'cachefront_fetch_refusals_total',
    'Fetch-by-URL requests refused: client (not in fetch.clients), url (its form or the allow-list), address (not public, or no answer), redirect (a hop refused, or too many), request (no url=, a bad ttl=, a method, a service worker).',
    ['service', 'reason'],
  ),
  storeLookupFailures: counter(
    'cachefront_store_lookup_failures_total',
    'Lookups that could not read the store and went to the origin: store-timeout (past the read deadline) or store-error.',
    ['service', 'reason'],
  ),
  coalesced: counter(
    'cachefront_coalesced_requests_total',
    'Requests that joined another request’s origin fetch instead of making their own.',
    ['service'],
  ),
  stale: counter(
    'cachefront_stale_served_total',
    'Stale responses served: while revalidating, on origin error, or while the circuit was open.',
    ['service', 'reason'],
  ),
  purged: counter('cachefront_purged_entries_total', 'Entries purged or soft-purged.', ['service']),
  evictions: counter('cachefront_evictions_total', 'Entries evicted by the service’s object or byte cap.', ['service']),
  saved: counter(
    'cachefront_saved_bytes_total',
    'Bytes hits did not send thanks to compression or image optimisation.',
    ['service', 'kind'],
  ),
  imagesOptimised: counter('cachefront_images_optimised_total', 'Image re-encodings, by result.', [
    'service',
    'result',
  ]),
};

/** Gauges read from the shared store at scrape time (cheap reads, never a keyspace scan). */
export interface ServiceGaugeSource {
  services: readonly string[];
  read(service: string): Promise<{ entries: number; bytes: number; circuitOpen: boolean; quotaBytes: number }>;
  /** The process's bounded structures (the L1, the memos): bytes held and the bound of each. */
  bounded?: () => Record<string, { bytes: number; max: number }>;
  /** The certificates the HTTPS listener serves: whose, and until when (epoch ms). */
  certificates?: () => { service: string; notAfter: number }[];
}

let gaugeSource: ServiceGaugeSource | undefined;

function gauge(
  name: string,
  help: string,
  pick: (v: { entries: number; bytes: number; circuitOpen: boolean; quotaBytes: number }) => number,
) {
  if (register.getSingleMetric(name)) return;
  new Gauge({
    name,
    help,
    labelNames: ['service'],
    // Every worker reads the same shared figure: the cluster aggregate takes one, not the sum.
    aggregator: 'max',
    async collect() {
      this.reset();
      const source = gaugeSource;
      if (!source) return;
      await Promise.all(
        source.services.map(async (service) => {
          const value = await source.read(service).catch(() => undefined);
          if (value) this.set({ service }, pick(value));
        }),
      );
    },
  });
}

/**
 * Registers the process-wide metrics: Node's own, the store-read gauges, and every label set of
 * the configured services at zero, so each series exists before its first event (a dashboard
 * shows 0, not "no data").
 */
/** What each process holds, by pid: summed across workers, Node's own memory figures hide which one grows. */
function processMemoryGauge(): void {
  if (register.getSingleMetric('cachefront_process_memory_bytes')) return;
  new Gauge({
    name: 'cachefront_process_memory_bytes',
    help: 'Memory of each edge process (process.memoryUsage): rss, heap_used, heap_total, external, array_buffers.',
    labelNames: ['pid', 'kind'],
    collect() {
      const usage = process.memoryUsage();
      const pid = String(process.pid);
      this.set({ pid, kind: 'rss' }, usage.rss);
      this.set({ pid, kind: 'heap_used' }, usage.heapUsed);
      this.set({ pid, kind: 'heap_total' }, usage.heapTotal);
      this.set({ pid, kind: 'external' }, usage.external);
      this.set({ pid, kind: 'array_buffers' }, usage.arrayBuffers);
    },
  });
}

/** What each bounded structure of each process holds against its bound: where a worker's memory sits. */
function boundedGauge(): void {
  if (register.getSingleMetric('cachefront_bounded_bytes')) return;
  new Gauge({
    name: 'cachefront_bounded_bytes',
    help: 'Bytes held by each bounded structure of each process (l1, memos), and its bound (kind="max").',
    labelNames: ['pid', 'structure', 'kind'],
    collect() {
      const pid = String(process.pid);
      for (const [structure, { bytes, max }] of Object.entries(gaugeSource?.bounded?.() ?? {})) {
        this.set({ pid, structure, kind: 'used' }, bytes);
        this.set({ pid, structure, kind: 'max' }, max);
      }
    },
  });
}

/** Seconds until each served certificate expires (negative once it has): the alert's input. */
function certificateGauge(): void {
  if (register.getSingleMetric('cachefront_tls_certificate_expiry_seconds')) return;
  new Gauge({
    name: 'cachefront_tls_certificate_expiry_seconds',
    help: 'Seconds until the certificate served for the service expires (service="(default)": the default certificate).',
    labelNames: ['service'],
    // Workers serve the same certificates; one still on an older one shows its earlier expiry.
    aggregator: 'min',
    collect() {
      this.reset();
      const now = Date.now();
      for (const { service, notAfter } of gaugeSource?.certificates?.() ?? []) {
        this.set({ service: service || '(default)' }, Math.round((notAfter - now) / 1000));
      }
    },
  });
}

export function initMetrics(source: ServiceGaugeSource): void {
  registerRequestTally();
  certificateGauge();
  processMemoryGauge();
  boundedGauge();
  if (!register.getSingleMetric('process_cpu_user_seconds_total')) {
    collectDefaultMetrics();
    // prom-client names these gauges *_total, which Prometheus reserves for counters (promtool
    // rejects them); nodejs_active_resources (by type) says the same, correctly named.
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ]) {
      register.removeSingleMetric(name);
    }
  }
  // A worker answers its primary's requests for metrics (prom-client listens once constructed).
  if (cluster.isWorker) new AggregatorRegistry();
  gaugeSource = source;
  for (const operation of REDIS_OPERATIONS) metrics.redisErrors.inc({ operation }, 0);
  gauge('cachefront_entries', 'Entries stored for the service (shared by every edge node).', (v) => v.entries);
  gauge('cachefront_stored_bytes', 'Body bytes stored for the service.', (v) => v.bytes);
  gauge(
    'cachefront_quota_bytes',
    'The service’s byte quota (0: none); its use is cachefront_stored_bytes.',
    (v) => v.quotaBytes,
  );
  gauge('cachefront_origin_circuit_open', '1 while the service’s origin circuit is open.', (v) =>
    v.circuitOpen ? 1 : 0,
  );
  for (const service of source.services) declareServiceSeries(service);
}

/** Why a fetch-by-URL request was refused (cachefront_fetch_refusals_total's reasons). */
export const FETCH_REFUSALS = ['client', 'url', 'address', 'redirect', 'request'] as const;
export type FetchRefusal = (typeof FETCH_REFUSALS)[number];

/** Every label set of a service at zero, so each series exists before its first event. */
export function declareServiceSeries(service: string): void {
  for (const status of CACHE_STATUSES) requestTally.declare(service, status);
  for (const sourceLabel of ['cache', 'origin']) metrics.bytes.inc({ service, source: sourceLabel }, 0);
  for (const outcome of ['success', 'failure']) metrics.originRequests.inc({ service, outcome }, 0);
  for (const kind of ['connect', 'timeout', 'broken', 'status']) metrics.originErrors.inc({ service, kind }, 0);
  for (const reason of ['while_revalidate', 'error', 'circuit_open']) metrics.stale.inc({ service, reason }, 0);
  for (const kind of ['compression', 'images']) metrics.saved.inc({ service, kind }, 0);
  for (const action of ['refuse', 'pass']) metrics.quotaRefusals.inc({ service, action }, 0);
  for (const reason of FETCH_REFUSALS) metrics.fetchRefusals.inc({ service, reason }, 0);
  for (const result of ['smaller', 'kept', 'refused']) metrics.imagesOptimised.inc({ service, result }, 0);
  for (const reason of ['store-timeout', 'store-error']) metrics.storeLookupFailures.inc({ service, reason }, 0);
  metrics.coalesced.inc({ service }, 0);
  metrics.purged.inc({ service }, 0);
  metrics.evictions.inc({ service }, 0);
}

export { register };
