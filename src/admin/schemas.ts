/**
 * @module Everything the admin API accepts and answers, as zod schemas: handlers validate input
 * with them and src/admin/openapi.ts generates the OpenAPI document from them, so the two cannot
 * drift apart.
 */
import { z } from 'zod';
import type { EntryFilter } from '../store/entry-index.js';

const absoluteUrl = z.url({ protocol: /^https?$/, error: 'url must be an absolute http:// or https:// URL' });

export const serviceParams = z.strictObject({
  service: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, { error: 'not a service id' }),
});

/** Milliseconds since the epoch, given as such or as an ISO 8601 date-time. */
const instant = z
  .union([z.number(), z.string()])
  .transform((value, ctx) => {
    const ms = typeof value === 'number' || /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    if (!Number.isFinite(ms) || ms < 0) {
      ctx.addIssue({ code: 'custom', message: 'a time is epoch milliseconds or an ISO 8601 date-time' });
      return z.NEVER;
    }
    return ms;
  })
  .meta({ description: 'epoch milliseconds, or an ISO 8601 date-time such as 2026-11-22T10:00:00Z' });

const count = z.coerce.number().int().nonnegative();

const MAX_WILDCARDS = 16;

/** The conditions of a listing and of a purge. All given ones must hold. */
const filterShape = {
  type: z
    .string()
    .toLowerCase()
    .regex(/^[a-z0-9!#$&^_.+-]+\/([a-z0-9!#$&^_.+-]+|\*)$/, { error: 'a media type such as image/png or image/*' })
    .optional()
    .meta({ description: 'media type without parameters, exact (image/png) or every subtype (image/*)' }),
  minSize: count.optional().meta({ description: 'stored body bytes, at least' }),
  maxSize: count.optional().meta({ description: 'stored body bytes, at most' }),
  prefix: z
    .string()
    .regex(/^\//, { error: 'a path prefix starts with /' })
    .max(2048)
    .optional()
    .meta({ description: 'the normalised path and query start with this' }),
  glob: z
    .string()
    .max(2048)
    .regex(/^[/*?]/, { error: 'a path glob starts with /, * or ?' })
    .refine((g) => (g.match(/[*?]/g) ?? []).length <= MAX_WILDCARDS, {
      error: `at most ${MAX_WILDCARDS} wildcards`,
    })
    .optional()
    .meta({ description: 'the normalised path and query match: * any run of characters (/ too), ? one' }),
  tag: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[^\s,]+$/, { error: 'one tag, without spaces or commas' })
    .optional()
    .meta({ description: 'a tag from the origin’s Surrogate-Key / Cache-Tag headers' }),
  status: z.coerce.number().int().min(100).max(599).optional(),
  storedAfter: instant.optional().meta({ description: 'stored at or after' }),
  storedBefore: instant.optional().meta({ description: 'stored before' }),
  minHits: count.optional(),
  maxHits: count.optional(),
};

const sizesInOrder: [
  (f: { minSize?: number | undefined; maxSize?: number | undefined }) => boolean,
  { error: string; path: string[] },
] = [
  (f) => f.minSize === undefined || f.maxSize === undefined || f.minSize <= f.maxSize,
  { error: 'minSize is larger than maxSize', path: ['minSize'] },
];

export const entryFilter = z.strictObject(filterShape).refine(...sizesInOrder);

export type EntryFilterInput = z.output<typeof entryFilter>;

/** The API's filter names to the store's. */
export function toStoreFilter(input: EntryFilterInput): EntryFilter {
  const filter: EntryFilter = {
    contentType: input.type,
    minSize: input.minSize,
    maxSize: input.maxSize,
    pathPrefix: input.prefix,
    pathGlob: input.glob,
    tag: input.tag,
    status: input.status,
    storedAfter: input.storedAfter,
    storedBefore: input.storedBefore,
    minHits: input.minHits,
    maxHits: input.maxHits,
  };
  for (const key of Object.keys(filter) as (keyof EntryFilter)[]) if (filter[key] === undefined) delete filter[key];
  return filter;
}

export const listQuery = z
  .strictObject({
    ...filterShape,
    limit: z.coerce.number().int().min(1).max(1000).default(100).meta({ description: 'items per page' }),
    cursor: z.string().max(8192).optional().meta({ description: 'nextCursor of the previous page' }),
  })
  .refine(...sizesInOrder);

const listItem = z.object({
  key: z.string().meta({ description: 'object id (one origin response, all its representations)' }),
  url: z.string(),
  path: z.string(),
  variant: z.record(z.string(), z.string().nullable()).meta({ description: 'Vary header values of this variant' }),
  contentType: z.string(),
  status: z.number(),
  size: z.number().meta({ description: 'body bytes over every representation, shared bytes counted once' }),
  sizes: z.record(z.string(), z.number()).meta({ description: 'bytes per representation' }),
  representations: z
    .array(
      z.object({
        name: z.string().meta({ description: 'content-coding (identity, gzip, br…) or image format (avif, webp…)' }),
        size: z.number(),
      }),
    )
    .meta({ description: 'what is stored of the object; it counts once against the object cap' }),
  tags: z.array(z.string()),
  storedAt: z.string(),
  freshUntil: z.string(),
  expiresAt: z.string(),
  fresh: z.boolean(),
  hits: z.number(),
});

export const listResponse = z.object({
  service: z.string(),
  items: z.array(listItem),
  nextCursor: z.string().nullable().meta({ description: 'null when there is nothing more' }),
  scanned: z.number().meta({ description: 'index members looked at for this page' }),
  healed: z.number().meta({ description: 'dangling index members removed on the way' }),
});

const purgeOptions = {
  soft: z.boolean().default(false).meta({
    description: 'mark stale instead of removing: revalidated before use, still usable as stale-if-error',
  }),
  dryRun: z.boolean().default(false).meta({ description: 'count what would be purged, change nothing' }),
};

/** POST /v1/purge: one URL, its service found from its host. */
export const urlPurgeBody = z.strictObject({ url: absoluteUrl, ...purgeOptions });

/** POST /v1/services/{service}/purge: exactly one of url, filter, all. */
export const servicePurgeBody = z
  .strictObject({
    url: absoluteUrl.optional().meta({ description: 'every variant of this URL' }),
    filter: entryFilter.optional().meta({ description: 'every entry the listing would show for this filter' }),
    all: z.literal(true).optional().meta({ description: 'every entry of the service' }),
    ...purgeOptions,
  })
  .refine((b) => [b.url, b.filter, b.all].filter((x) => x !== undefined).length === 1, {
    error: 'give exactly one of url, filter or all',
  });

export const purgeResponse = z.object({
  service: z.string(),
  purged: z.number().meta({ description: 'entries removed or, when soft, marked stale (dry run: would be)' }),
  soft: z.boolean(),
  dryRun: z.boolean(),
  url: z.string().optional(),
  batches: z.number().meta({ description: 'Redis calls made for the purge' }),
  longestCallMs: z.number().meta({ description: 'the longest of those calls, as this node timed it' }),
  receipt: z
    .string()
    .optional()
    .meta({ description: 'with regions: GET /v1/services/{service}/purges/{receipt} says where it was applied' }),
});

export const receiptParams = z.strictObject({
  service: z.string(),
  receipt: z.string().regex(/^\d+:\d+-\d+(,\d+:\d+-\d+)*$/, { error: 'a purge receipt, as a purge returned it' }),
});

export const receiptResponse = z.object({
  service: z.string(),
  receipt: z.string(),
  complete: z.boolean().meta({ description: 'every region has applied the purge' }),
  regions: z
    .record(z.string(), z.string().nullable())
    .meta({ description: 'per region (this one and its peers): when it applied the purge, or null' }),
});

export const explainBody = z.strictObject({
  url: absoluteUrl,
  headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/), z.string().max(8192)).default({}),
});

export const originResponse = z.object({
  service: z.string(),
  state: z.enum(['closed', 'open', 'half-open']).meta({
    description: 'open: requests are not sent to the origin (stale served, others 503); half-open: one probe may go',
  }),
  failures: z.number().meta({ description: 'consecutive failures seen by any edge node' }),
  openUntil: z.string().nullable(),
});

export const statsResponse = z.object({
  service: z.string(),
  entries: z.number(),
  bytesStored: z.number(),
  quotaBytes: z.number().meta({ description: 'the service’s byte quota (0: none); bytesStored is its use' }),
  hits: z.number(),
  misses: z.number(),
  bypasses: z.number(),
  hitRatio: z.number().meta({ description: 'hits / (hits + misses); stale answers in an outage are not hits' }),
  bytesFromCache: z.number(),
  bytesFromOrigin: z.number(),
  evictions: z.number().meta({ description: 'entries evicted by the object or byte cap' }),
  purges: z.number().meta({ description: 'entries purged or soft-purged through the admin API' }),
  staleServed: z.number().meta({
    description: 'answers from a stale entry because the origin failed or its circuit was open (not counted as hits)',
  }),
  errors: z.number().meta({
    description: "the edge's own 5xx answers: origin unreachable, timed out or down (circuit open), internal errors",
  }),
  storeTimeouts: z.number().meta({
    description: 'lookups that passed the read deadline and went to the origin (Cache-Status detail=store-timeout)',
  }),
  storeErrors: z.number().meta({ description: 'lookups the store failed (Redis unreachable) that went to the origin' }),
  bytesSavedByCompression: z.number().meta({ description: 'bytes hits did not send thanks to stored gzip/Brotli' }),
  bytesSavedByImages: z.number().meta({ description: 'bytes hits did not send thanks to optimised images' }),
  origin: originResponse.omit({ service: true }),
});

export const servicesResponse = z.object({
  services: z.array(z.object({ id: z.string(), hosts: z.array(z.string()) })),
});

export const errorResponse = z.object({
  error: z.object({ code: z.string().meta({ description: 'stable, see docs/errors.md' }), message: z.string() }),
});

const nodeReport = z.object({
  node: z.string().meta({ description: 'host:pid of the process' }),
  file: z.string().meta({ description: 'digest of the configuration file it runs' }),
  catalog: z.number().meta({ description: 'the catalog version it runs' }),
  at: z.string().meta({ description: 'when it last reported' }),
});

export const reloadResponse = z.object({
  reloaded: z.literal(true),
  file: z.string().meta({ description: 'digest of the file now running' }),
  processes: z.number().meta({ description: 'processes of this node given the file' }),
  applied: z.number().meta({ description: 'processes that said they applied it' }),
  restartNeeded: z.array(z.string()).meta({ description: 'changed settings that wait for a restart' }),
});

export const configResponse = z.object({
  version: z.object({ file: z.string(), catalog: z.number() }),
  catalog: z.object({ enabled: z.boolean() }),
  services: z.array(z.object({ id: z.string(), hosts: z.array(z.string()), source: z.enum(['file', 'catalog']) })),
  refused: z.array(z.object({ service: z.string(), issues: z.array(z.string()) })),
  nodes: z.array(nodeReport).meta({ description: 'the processes reporting to the catalog (catalog enabled)' }),
});

export const serviceDefinitionResponse = z.object({
  service: z.string(),
  source: z.enum(['file', 'catalog']),
  hosts: z.array(z.string()),
  definition: z.unknown().optional().meta({ description: 'as stored in the catalog (catalog services)' }),
});

export const serviceChangeResponse = z.object({
  service: z.string(),
  version: z.number().meta({ description: 'the catalog version this change made' }),
  created: z.boolean().optional(),
  deleted: z.boolean().optional(),
  applied: z.object({
    complete: z.boolean().meta({ description: 'every live process reports this version (or a later one)' }),
    nodes: z.array(nodeReport),
  }),
});

export const auditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
});

export const auditResponse = z.object({
  changes: z.array(
    z.object({
      at: z.string(),
      action: z.enum(['put', 'delete']),
      service: z.string(),
      version: z.number(),
      caller: z.string(),
      address: z.string(),
    }),
  ),
});
