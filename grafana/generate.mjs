// Writes grafana/dashboards/*.json from the panel list below (`node grafana/generate.mjs`). The
// JSON files are what Grafana provisions; this file keeps them consistent (one datasource variable,
// one style) and short to review. test/integration/observability checks every expression against a
// real Prometheus scraping a real edge.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const DIR = join(import.meta.dirname, 'dashboards');
const RATE = '$__rate_interval';

// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template string
const datasource = { type: 'prometheus', uid: '${datasource}' };

function panel(
  id,
  title,
  exprs,
  { unit = 'short', type = 'timeseries', w = 12, h = 8, x = 0, y = 0, description } = {},
) {
  return {
    id,
    type,
    title,
    ...(description ? { description } : {}),
    datasource,
    gridPos: { h, w, x, y },
    fieldConfig: { defaults: { unit }, overrides: [] },
    options: type === 'stat' ? { reduceOptions: { calcs: ['lastNotNull'] } } : { legend: { displayMode: 'list' } },
    targets: exprs.map(([expr, legendFormat], i) => ({
      refId: String.fromCharCode(65 + i),
      datasource,
      expr,
      legendFormat,
    })),
  };
}

function layout(panels) {
  return panels.map((p, i) => ({
    ...p,
    id: i + 1,
    gridPos: { ...p.gridPos, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
  }));
}

function dashboard(uid, title, description, panels, { service = false } = {}) {
  const variables = [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Prometheus' }];
  if (service) {
    variables.push({
      name: 'service',
      type: 'query',
      label: 'Service',
      datasource,
      query: { query: 'label_values(cachefront_requests_total, service)', refId: 'service' },
      definition: 'label_values(cachefront_requests_total, service)',
      refresh: 2,
    });
  }
  return {
    uid,
    title,
    description,
    tags: ['cachefront'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    templating: { list: variables },
    panels: layout(panels),
  };
}

const sumBy = (by, metric, filter = '') => `sum by (${by}) (rate(${metric}${filter}[${RATE}]))`;

const fleet = dashboard('cachefront-fleet', 'cachefront — fleet overview', 'Every service, every edge node.', [
  panel(
    0,
    'Hit ratio',
    [
      [
        `sum(rate(cachefront_requests_total{cache_status=~"hit|updating|stale"}[${RATE}])) / sum(rate(cachefront_requests_total{cache_status=~"hit|updating|stale|miss|refresh"}[${RATE}]))`,
        'hit ratio',
      ],
    ],
    { unit: 'percentunit', description: 'Cacheable requests answered from cache (bypasses excluded).' },
  ),
  panel(
    0,
    'Byte hit ratio',
    [
      [
        `sum(rate(cachefront_bytes_total{source="cache"}[${RATE}])) / (sum(rate(cachefront_bytes_total{source="cache"}[${RATE}])) + sum(rate(cachefront_bytes_total{source="origin"}[${RATE}])))`,
        'byte hit ratio',
      ],
    ],
    { unit: 'percentunit' },
  ),
  panel(
    0,
    'Origin offload (bytes/s)',
    [
      [`sum(rate(cachefront_bytes_total{source="cache"}[${RATE}]))`, 'served from cache'],
      [`sum(rate(cachefront_bytes_total{source="origin"}[${RATE}]))`, 'fetched from origin'],
    ],
    { unit: 'Bps' },
  ),
  panel(
    0,
    'Origin offload (%)',
    [
      [
        `100 * sum(increase(cachefront_bytes_total{source="cache"}[${RATE}])) / clamp_min(sum(increase(cachefront_bytes_total[${RATE}])), 1)`,
        'offload %',
      ],
    ],
    { unit: 'percent' },
  ),
  panel(0, 'Requests by cache status', [[sumBy('cache_status', 'cachefront_requests_total'), '{{cache_status}}']], {
    unit: 'reqps',
  }),
  panel(0, 'Stale served', [[sumBy('reason', 'cachefront_stale_served_total'), '{{reason}}']], { unit: 'reqps' }),
  panel(0, 'Requests by service', [[sumBy('service', 'cachefront_requests_total'), '{{service}}']], { unit: 'reqps' }),
  panel(0, 'Bytes saved by transforms', [[sumBy('kind', 'cachefront_saved_bytes_total'), '{{kind}}']], { unit: 'Bps' }),
]);

const S = '{service="$service"}';
const service = dashboard(
  'cachefront-service',
  'cachefront — service',
  'One service in detail.',
  [
    panel(
      0,
      'Requests by cache status',
      [[sumBy('cache_status', 'cachefront_requests_total', S), '{{cache_status}}']],
      { unit: 'reqps' },
    ),
    panel(
      0,
      'Hit ratio',
      [
        [
          `sum(rate(cachefront_requests_total{service="$service",cache_status=~"hit|updating|stale"}[${RATE}])) / sum(rate(cachefront_requests_total{service="$service",cache_status=~"hit|updating|stale|miss|refresh"}[${RATE}]))`,
          'hit ratio',
        ],
      ],
      { unit: 'percentunit' },
    ),
    panel(
      0,
      'Latency by cache status (p50, p99)',
      [
        [
          `histogram_quantile(0.5, sum by (le, cache_status) (rate(cachefront_request_duration_seconds_bucket${S}[${RATE}])))`,
          'p50 {{cache_status}}',
        ],
        [
          `histogram_quantile(0.99, sum by (le, cache_status) (rate(cachefront_request_duration_seconds_bucket${S}[${RATE}])))`,
          'p99 {{cache_status}}',
        ],
      ],
      { unit: 's' },
    ),
    panel(0, 'Bytes from cache and origin', [[sumBy('source', 'cachefront_bytes_total', S), '{{source}}']], {
      unit: 'Bps',
    }),
    panel(0, 'Entries', [[`max(cachefront_entries${S})`, 'entries']], { type: 'stat' }),
    panel(0, 'Stored bytes', [[`max(cachefront_stored_bytes${S})`, 'bytes']], { type: 'stat', unit: 'bytes' }),
    panel(
      0,
      'Evictions and purges',
      [
        [`sum(rate(cachefront_evictions_total${S}[${RATE}]))`, 'evicted'],
        [`sum(rate(cachefront_purged_entries_total${S}[${RATE}]))`, 'purged'],
      ],
      { unit: 'ops' },
    ),
    panel(
      0,
      'Coalesced requests',
      [[`sum(rate(cachefront_coalesced_requests_total${S}[${RATE}]))`, 'joined another fetch']],
      { unit: 'reqps' },
    ),
    panel(0, 'Bytes saved', [[sumBy('kind', 'cachefront_saved_bytes_total', S), '{{kind}}']], { unit: 'Bps' }),
    panel(0, 'Images re-encoded', [[sumBy('result', 'cachefront_images_optimised_total', S), '{{result}}']], {
      unit: 'ops',
    }),
    panel(
      0,
      'Byte quota (cache.quota): stored against the quota, misses refused or passed',
      [
        [`max(cachefront_stored_bytes${S})`, 'stored'],
        [`max(cachefront_quota_bytes${S})`, 'quota (0: none)'],
      ],
      { unit: 'bytes' },
    ),
    panel(0, 'Misses past the quota', [[sumBy('action', 'cachefront_quota_refusals_total', S), '{{action}}']], {
      unit: 'reqps',
    }),
    panel(
      0,
      'Fetch-by-URL refusals (SSRF attempts show as address and redirect)',
      [[sumBy('reason', 'cachefront_fetch_refusals_total', S), '{{reason}}']],
      { unit: 'reqps' },
    ),
  ],
  { service: true },
);

const origin = dashboard('cachefront-origin', 'cachefront — origin health', 'Origins as the edge sees them.', [
  panel(
    0,
    'Origin requests by outcome',
    [[sumBy('service, outcome', 'cachefront_origin_requests_total'), '{{service}} {{outcome}}']],
    { unit: 'reqps' },
  ),
  panel(
    0,
    'Origin errors by kind',
    [[sumBy('service, kind', 'cachefront_origin_errors_total'), '{{service}} {{kind}}']],
    { unit: 'ops' },
  ),
  panel(
    0,
    'Origin latency p99',
    [
      [
        `histogram_quantile(0.99, sum by (le, service) (rate(cachefront_origin_duration_seconds_bucket[${RATE}])))`,
        '{{service}}',
      ],
    ],
    { unit: 's' },
  ),
  panel(0, 'Circuit open', [[`max by (service) (cachefront_origin_circuit_open)`, '{{service}}']], {
    description: '1 while requests to the origin are paused (stale served, others fail fast).',
  }),
  panel(
    0,
    'Stale served on error',
    [[`sum by (service) (rate(cachefront_stale_served_total{reason=~"error|circuit_open"}[${RATE}]))`, '{{service}}']],
    { unit: 'reqps' },
  ),
  panel(
    0,
    'Origin failure ratio',
    [
      [
        `sum by (service) (rate(cachefront_origin_requests_total{outcome="failure"}[${RATE}])) / clamp_min(sum by (service) (rate(cachefront_origin_requests_total[${RATE}])), 1e-9)`,
        '{{service}}',
      ],
    ],
    { unit: 'percentunit' },
  ),
]);

const redis = dashboard('cachefront-redis', 'cachefront — Redis', 'The shared store, as the edge nodes see it.', [
  panel(
    0,
    'Redis calls by operation',
    [[sumBy('operation', 'cachefront_redis_command_duration_seconds_count'), '{{operation}}']],
    { unit: 'ops' },
  ),
  panel(
    0,
    'Redis latency p99 by operation',
    [
      [
        `histogram_quantile(0.99, sum by (le, operation) (rate(cachefront_redis_command_duration_seconds_bucket[${RATE}])))`,
        '{{operation}}',
      ],
    ],
    { unit: 's' },
  ),
  panel(0, 'Redis errors and timeouts', [[sumBy('operation', 'cachefront_redis_errors_total'), '{{operation}}']], {
    unit: 'ops',
  }),
  panel(
    0,
    'Lookup latency p50 / p99',
    [
      [
        `histogram_quantile(0.5, sum by (le) (rate(cachefront_redis_command_duration_seconds_bucket{operation="get"}[${RATE}])))`,
        'p50',
      ],
      [
        `histogram_quantile(0.99, sum by (le) (rate(cachefront_redis_command_duration_seconds_bucket{operation="get"}[${RATE}])))`,
        'p99',
      ],
    ],
    { unit: 's' },
  ),
]);

const nodes = dashboard(
  'cachefront-nodes',
  'cachefront — edge nodes',
  'Each edge node (a scrape target) and its processes.',
  [
    panel(0, 'Requests per node', [[`sum by (instance) (rate(cachefront_requests_total[${RATE}]))`, '{{instance}}']], {
      unit: 'reqps',
    }),
    panel(0, 'CPU', [[`sum by (instance) (rate(process_cpu_seconds_total[${RATE}]))`, '{{instance}}']], {
      unit: 'percentunit',
    }),
    panel(0, 'Resident memory', [[`sum by (instance) (process_resident_memory_bytes)`, '{{instance}}']], {
      unit: 'bytes',
    }),
    panel(0, 'Event loop lag p99', [[`max by (instance) (nodejs_eventloop_lag_p99_seconds)`, '{{instance}}']], {
      unit: 's',
    }),
    panel(0, 'Heap used', [[`sum by (instance) (nodejs_heap_size_used_bytes)`, '{{instance}}']], { unit: 'bytes' }),
    panel(0, 'Active resources (sockets, timers, requests)', [
      [`sum by (instance) (nodejs_active_resources)`, '{{instance}}'],
    ]),
  ],
);

// From the sync workers (`cachefront sync`, one per region): docs/regions.md.
const lagQuantile = (q, kind) =>
  `histogram_quantile(${q}, sum by (from, to, le) (rate(cachefront_sync_lag_seconds_bucket{kind="${kind}"}[${RATE}])))`;
const regions = dashboard(
  'cachefront-regions',
  'cachefront — regions',
  'Regions in step: what each sync worker applied and copied from the others, and how late.',
  [
    panel(
      0,
      'Purge propagation lag (p50, p99)',
      [
        [lagQuantile(0.5, 'purge'), 'p50 {{from}} → {{to}}'],
        [lagQuantile(0.99, 'purge'), 'p99 {{from}} → {{to}}'],
      ],
      { unit: 's', description: 'From a purge in one region’s journal to its application in another.' },
    ),
    panel(
      0,
      'Fill propagation lag (p50, p99)',
      [
        [lagQuantile(0.5, 'fill'), 'p50 {{from}} → {{to}}'],
        [lagQuantile(0.99, 'fill'), 'p99 {{from}} → {{to}}'],
      ],
      { unit: 's', description: 'From a fill in one region’s journal to its copy stored in another.' },
    ),
    panel(0, 'Purges applied', [[sumBy('from, to', 'cachefront_sync_purges_applied_total'), '{{from}} → {{to}}']], {
      unit: 'ops',
    }),
    panel(0, 'Entries shipped', [[sumBy('from, to', 'cachefront_sync_entries_shipped_total'), '{{from}} → {{to}}']], {
      unit: 'ops',
    }),
    panel(0, 'Bytes shipped', [[sumBy('from, to', 'cachefront_sync_bytes_shipped_total'), '{{from}} → {{to}}']], {
      unit: 'Bps',
    }),
    panel(
      0,
      'Conflicts resolved (a purge won over a fill)',
      [[sumBy('from, to', 'cachefront_sync_conflicts_total'), '{{from}} → {{to}}']],
      { unit: 'ops' },
    ),
    panel(
      0,
      'Journal length',
      [[`sum by (region, service) (cachefront_sync_journal_length)`, '{{region}} {{service}}']],
      {
        description: 'Records each region keeps until every peer has read them: growing means a peer is behind.',
      },
    ),
    panel(0, 'Fills not copied, by reason', [[sumBy('reason', 'cachefront_sync_fills_skipped_total'), '{{reason}}']], {
      unit: 'ops',
    }),
  ],
);

for (const [file, body] of [
  ['fleet-overview.json', fleet],
  ['regions.json', regions],
  ['service.json', service],
  ['origin-health.json', origin],
  ['redis.json', redis],
  ['edge-nodes.json', nodes],
]) {
  writeFileSync(join(DIR, file), `${JSON.stringify(body, null, 2)}\n`);
}
