/**
 * @module `cachefront list|purge|explain|stats`: a small client of the admin API. It adds nothing
 * the API does not do; the API validates every input and answers errors with stable codes, which
 * are printed as they come. The token comes from the environment or a file, never from argv
 * (where `ps` and shell history would show it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readConfigDocument } from '../config/load.js';
import { byteSize, durationMs } from '../config/units.js';

export const ADMIN_HELP = `Usage:
  cachefront list SERVICE [FILTER…] [--limit N] [--cursor C] [--all-pages] [--json]
  cachefront purge SERVICE (--url URL | --all | FILTER…) [--soft] [--dry-run] [--wait [--timeout T]]
  cachefront purge --url URL [--soft] [--dry-run] [--wait [--timeout T]]
                      (the service is found from the URL's host)
  cachefront explain URL [-H 'Name: value']…
  cachefront stats SERVICE [--json]
  cachefront reload   re-read the configuration file on every worker of the node; the errors if
                      it does not validate (the running configuration stays)
  cachefront service put SERVICE FILE | delete SERVICE | show SERVICE
                      services kept as data (catalog.enabled): FILE is one service in YAML or
                      JSON, as the configuration file writes it
  cachefront config [--audit]
                      what every process runs (versions), or the catalog's latest changes

Filters (list and purge):
  --type T            media type, exact (image/png) or every subtype (image/*)
  --min-size S        stored body size at least S (bytes, or 10KiB, 2MB…)
  --max-size S        stored body size at most S
  --prefix P          path and query start with P (/img/)
  --glob G            path and query match G: * any run of characters, ? one (/img/*.png)
  --tag T             tagged T by the origin (Surrogate-Key / Cache-Tag)
  --status N          response status
  --stored-after T    stored at or after T (ISO 8601 or epoch ms)
  --stored-before T   stored before T
  --min-hits N, --max-hits N

Purge:
  --wait              with regions, wait until every region has applied the purge (its receipt)
  --timeout T         how long --wait waits (default 30s; 500ms, 2m…); past it, exit status 1

Options:
  --admin URL         admin listener (default $CACHEFRONT_ADMIN_URL or http://127.0.0.1:9091)
  --token-file FILE   read the bearer token from FILE (default: $CACHEFRONT_ADMIN_TOKEN, else the
                      .cache/admin-token that \`npm start\` writes in this checkout)

Output is JSON, except list (a table) and stats (a summary), which print JSON with --json.
Exit status: 0 done, 1 the API refused or could not be reached, 2 usage error.
`;

const FILTER_OPTIONS = {
  type: { type: 'string' },
  'min-size': { type: 'string' },
  'max-size': { type: 'string' },
  prefix: { type: 'string' },
  glob: { type: 'string' },
  tag: { type: 'string' },
  status: { type: 'string' },
  'stored-after': { type: 'string' },
  'stored-before': { type: 'string' },
  'min-hits': { type: 'string' },
  'max-hits': { type: 'string' },
} as const;

const COMMON_OPTIONS = {
  admin: { type: 'string' },
  'token-file': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Flag name → API field name. */
const FILTER_FIELDS: Record<keyof typeof FILTER_OPTIONS, string> = {
  type: 'type',
  'min-size': 'minSize',
  'max-size': 'maxSize',
  prefix: 'prefix',
  glob: 'glob',
  tag: 'tag',
  status: 'status',
  'stored-after': 'storedAfter',
  'stored-before': 'storedBefore',
  'min-hits': 'minHits',
  'max-hits': 'maxHits',
};

export class UsageError extends Error {}

interface Output {
  log(text: string): void;
  error(text: string): void;
}

/** The filter flags as API fields; sizes accept units. Values stay strings (the API parses them). */
function filterOf(values: Record<string, unknown>): Record<string, string> {
  const filter: Record<string, string> = {};
  for (const [flag, field] of Object.entries(FILTER_FIELDS)) {
    const value = values[flag];
    if (typeof value !== 'string') continue;
    if (flag === 'min-size' || flag === 'max-size') {
      const bytes = byteSize.safeParse(value);
      if (!bytes.success) throw new UsageError(`--${flag}: "${value}" is not a size`);
      filter[field] = String(bytes.data);
    } else filter[field] = value;
  }
  return filter;
}

/** Numbers in a JSON filter body are numbers; the API would refuse "10" for a body field. */
function jsonFilter(filter: Record<string, string>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [field, value] of Object.entries(filter)) {
    out[field] =
      /^(minSize|maxSize|status|minHits|maxHits)$/.test(field) && /^\d+$/.test(value) ? Number(value) : value;
  }
  return out;
}

interface Connection {
  base: string;
  token: string | undefined;
}

/**
 * The development token `npm start` writes in this checkout (git-ignored): the CLI's last resort,
 * so the README's commands work against the example edge with no setup.
 */
export const DEV_TOKEN_FILE = fileURLToPath(new URL('../../.cache/admin-token', import.meta.url));

function connection(values: Record<string, unknown>, env: NodeJS.ProcessEnv): Connection {
  const base = (values.admin as string | undefined) ?? env.CACHEFRONT_ADMIN_URL ?? 'http://127.0.0.1:9091';
  if (!/^https?:\/\//.test(base)) throw new UsageError(`--admin: "${base}" is not an http:// or https:// URL`);
  let token = env.CACHEFRONT_ADMIN_TOKEN || undefined;
  const file = (values['token-file'] as string | undefined) ?? (token === undefined ? devTokenFile(env) : undefined);
  if (file !== undefined) {
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch (error) {
      throw new UsageError(`--token-file: cannot read ${file}: ${(error as Error).message}`);
    }
  }
  return { base: base.replace(/\/+$/, ''), token };
}

/** The development token file, when there is one (CACHEFRONT_ADMIN_TOKEN_FILE names another). */
function devTokenFile(env: NodeJS.ProcessEnv): string | undefined {
  const file = env.CACHEFRONT_ADMIN_TOKEN_FILE ?? DEV_TOKEN_FILE;
  return existsSync(file) ? file : undefined;
}

/** What a 401 means, and what to do about it. */
const TOKEN_HINT =
  'the admin API needs a bearer token: set CACHEFRONT_ADMIN_TOKEN, pass --token-file FILE, or, against the ' +
  'example edge of this checkout, run `npm start` once (it writes .cache/admin-token, read by default)';

class ApiError extends Error {}

async function call(conn: Connection, method: string, path: string, body?: unknown): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${conn.base}${path}`, {
      method,
      headers: {
        ...(conn.token ? { authorization: `Bearer ${conn.token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    throw new ApiError(
      `cannot reach the admin API at ${conn.base}: ${(error as Error).cause ?? (error as Error).message}`,
    );
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ApiError(`the admin API answered ${res.status} with something that is not JSON`);
  }
  if (!res.ok) {
    const error = (json as { error?: { code?: string; message?: string } }).error;
    const hint = res.status === 401 ? `\n${conn.token ? 'the token given was refused; ' : ''}${TOKEN_HINT}` : '';
    throw new ApiError(`${error?.code ?? `HTTP ${res.status}`}: ${error?.message ?? text}${hint}`);
  }
  return json;
}

function parse<T extends Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>>(
  args: string[],
  options: T,
) {
  try {
    return parseArgs({ args, options: { ...COMMON_OPTIONS, ...options }, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function one(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`expected exactly one ${what}`);
  return positionals[0] as string;
}

const pretty = (value: unknown) => JSON.stringify(value, null, 2);

interface ListItem {
  url: string;
  path: string;
  contentType: string;
  status: number;
  size: number;
  representations?: { name: string; size: number }[];
  hits: number;
  fresh: boolean;
  storedAt: string;
  variant: Record<string, string | null>;
}

/** 1536 → "1.5 KiB": what a person reads at a glance. */
export function humanBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** "GET https://shop.example/a?b=1" → "shop.example/a?b=1". */
function hostAndPath(item: ListItem): string {
  const target = item.url.split(' ')[1] ?? item.path;
  try {
    const url = new URL(target);
    return `${url.host}${item.path}`;
  } catch {
    return item.path;
  }
}

function table(items: ListItem[]): string {
  const rows = items.map((i) => [
    humanBytes(i.size),
    i.contentType || '-',
    String(i.status),
    String(i.hits),
    i.fresh ? 'fresh' : 'stale',
    i.storedAt.slice(0, 19).replace('T', ' '),
    (i.representations ?? []).map((r) => `${r.name} ${humanBytes(r.size)}`).join(', ') || '-',
    hostAndPath(i) +
      Object.entries(i.variant)
        .map(([n, v]) => ` ${n}=${v ?? '(none)'}`)
        .join(''),
  ]);
  const header = ['SIZE', 'TYPE', 'STATUS', 'HITS', 'STATE', 'STORED (UTC)', 'REPRESENTATIONS', 'URL'];
  const last = header.length - 1;
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] as string).length)));
  const lines = [header, ...rows].map((r) =>
    r.map((cell, c) => (c === last ? cell : cell.padEnd(widths[c] as number))).join('  '),
  );
  return items.length === 0 ? `${lines[0]}\n(nothing stored matches)` : lines.join('\n');
}

async function list(args: string[], env: NodeJS.ProcessEnv, out: Output): Promise<number> {
  const { values, positionals } = parse(args, {
    ...FILTER_OPTIONS,
    limit: { type: 'string' },
    cursor: { type: 'string' },
    'all-pages': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (values.help) return help(out);
  const service = one(positionals, 'SERVICE');
  const conn = connection(values, env);
  const query = new URLSearchParams(filterOf(values));
  if (values.limit !== undefined) query.set('limit', values.limit);
  let cursor = values.cursor;
  const items: ListItem[] = [];
  do {
    if (cursor) query.set('cursor', cursor);
    const page = (await call(conn, 'GET', `/v1/services/${encodeURIComponent(service)}/entries?${query}`)) as {
      items: ListItem[];
      nextCursor: string | null;
    };
    if (values.json) out.log(JSON.stringify(page));
    else items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
    if (!values['all-pages']) {
      if (!values.json) {
        out.log(table(items));
        if (cursor) out.log(`\nmore: cachefront list ${service} … --cursor ${cursor}`);
      }
      return 0;
    }
  } while (cursor);
  if (!values.json) out.log(table(items));
  return 0;
}

async function purge(args: string[], env: NodeJS.ProcessEnv, out: Output): Promise<number> {
  const { values, positionals } = parse(args, {
    ...FILTER_OPTIONS,
    url: { type: 'string' },
    all: { type: 'boolean' },
    soft: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    wait: { type: 'boolean' },
    timeout: { type: 'string' },
  });
  if (values.help) return help(out);
  const conn = connection(values, env);
  const filter = filterOf(values);
  const selectors = [values.url !== undefined, values.all === true, Object.keys(filter).length > 0].filter(Boolean);
  if (selectors.length !== 1) throw new UsageError('purge takes exactly one of --url, --all or filter options');
  if (values.timeout !== undefined && !values.wait) throw new UsageError('--timeout goes with --wait');
  const timeout = durationMs.safeParse(values.timeout ?? '30s');
  if (!timeout.success) throw new UsageError(`--timeout: ${timeout.error.issues[0]?.message ?? 'not a duration'}`);
  const options = { soft: values.soft === true, dryRun: values['dry-run'] === true };
  let result: unknown;
  if (positionals.length === 0) {
    if (values.url === undefined) throw new UsageError('purge needs SERVICE (or only --url URL)');
    result = await call(conn, 'POST', '/v1/purge', { url: values.url, ...options });
  } else {
    const service = one(positionals, 'SERVICE');
    const body =
      values.url !== undefined ? { url: values.url } : values.all ? { all: true } : { filter: jsonFilter(filter) };
    result = await call(conn, 'POST', `/v1/services/${encodeURIComponent(service)}/purge`, { ...body, ...options });
  }
  out.log(pretty(result));
  if (!values.wait || options.dryRun) return 0;
  return waitForRegions(conn, result as { service: string; receipt?: string }, timeout.data, out);
}

/** How often --wait asks where a purge stands. */
const RECEIPT_POLL_MS = 100;

/**
 * Waits until every region has applied a purge (its receipt says so), printing where it stands:
 * 0 once complete, 1 at the timeout.
 */
async function waitForRegions(
  conn: Connection,
  purged: { service: string; receipt?: string },
  timeoutMs: number,
  out: Output,
): Promise<number> {
  if (purged.receipt === undefined) {
    out.error('no regions are configured: the purge is applied here, and nowhere else to wait for');
    return 0;
  }
  const path = `/v1/services/${encodeURIComponent(purged.service)}/purges/${purged.receipt}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = (await call(conn, 'GET', path)) as { complete: boolean; regions: Record<string, string | null> };
    if (state.complete) {
      out.log(pretty(state));
      return 0;
    }
    if (Date.now() >= deadline) {
      const missing = Object.keys(state.regions).filter((region) => state.regions[region] === null);
      out.log(pretty(state));
      out.error(`cachefront purge: not applied in ${missing.join(', ')} after ${timeoutMs} ms`);
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, RECEIPT_POLL_MS));
  }
}

async function explainCommand(args: string[], env: NodeJS.ProcessEnv, out: Output): Promise<number> {
  const { values, positionals } = parse(args, { header: { type: 'string', short: 'H', multiple: true } });
  if (values.help) return help(out);
  const url = one(positionals, 'URL');
  const headers: Record<string, string> = {};
  for (const line of (values.header as string[] | undefined) ?? []) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new UsageError(`-H "${line}": expected "Name: value"`);
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  out.log(pretty(await call(connection(values, env), 'POST', '/v1/explain', { url, headers })));
  return 0;
}

interface Stats {
  service: string;
  entries: number;
  bytesStored: number;
  hits: number;
  misses: number;
  bypasses: number;
  hitRatio: number;
  bytesFromCache: number;
  bytesFromOrigin: number;
  evictions: number;
  purges: number;
  staleServed: number;
  errors: number;
  storeTimeouts: number;
  storeErrors: number;
  bytesSavedByCompression: number;
  bytesSavedByImages: number;
  origin: { state: 'closed' | 'open' | 'half-open'; failures: number; openUntil: string | null };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const percent = (ratio: number) => `${(100 * ratio).toFixed(1)} %`;

/** The stats as a person reads them: counts in words, sizes in KiB/MiB, the circuit in a sentence. */
export function statsSummary(s: Stats): string {
  const circuit =
    s.origin.state === 'closed'
      ? `healthy (circuit closed${s.origin.failures > 0 ? `, ${plural(s.origin.failures, 'recent failure')}` : ''})`
      : s.origin.state === 'open'
        ? `FAILING: circuit open until ${s.origin.openUntil ?? '?'} after ${plural(s.origin.failures, 'consecutive failure')}; stale entries are served, other requests get 503`
        : 'recovering: circuit half-open, one probe request may reach the origin';
  return [
    s.service,
    `  stored     ${plural(s.entries, 'object')}, ${humanBytes(s.bytesStored)}`,
    `  hit ratio  ${percent(s.hitRatio)}  (${plural(s.hits, 'hit')}, ${plural(s.misses, 'miss', 'misses')}; ${plural(s.bypasses, 'bypass', 'bypasses')} not counted)`,
    `  outages    ${plural(s.staleServed, 'stale answer')} while the origin failed, ${plural(s.errors, 'error answer')} (5xx) from the edge`,
    `  bytes      ${humanBytes(s.bytesFromCache)} from cache, ${humanBytes(s.bytesFromOrigin)} from the origin; saved ${humanBytes(s.bytesSavedByCompression)} by compression, ${humanBytes(s.bytesSavedByImages)} by images`,
    `  removed    ${plural(s.evictions, 'eviction')}, ${plural(s.purges, 'purge')}`,
    `  store      ${plural(s.storeTimeouts, 'lookup')} timed out, ${plural(s.storeErrors, 'lookup')} failed`,
    `  origin     ${circuit}`,
  ].join('\n');
}

async function stats(args: string[], env: NodeJS.ProcessEnv, out: Output): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } });
  if (values.help) return help(out);
  const service = one(positionals, 'SERVICE');
  const answer = (await call(
    connection(values, env),
    'GET',
    `/v1/services/${encodeURIComponent(service)}/stats`,
  )) as Stats;
  out.log(values.json ? pretty(answer) : statsSummary(answer));
  return 0;
}

function help(out: Output): number {
  out.log(ADMIN_HELP);
  return 0;
}

async function reload(args: string[], env: NodeJS.ProcessEnv, out: Output): Promise<number> {
  const { values, positionals } = parse(args, {});
  if (values.help) return help(out);
  if (positionals.length > 0) throw new UsageError('reload takes no arguments');
  out.log(pretty(await call(connection(values, env), 'POST', '/v1/reload')));
  return 0;
}

/** `service put|delete|show`: the catalog's services (PUT/DELETE/GET /v1/services/{service}). */
async function service(args: string[], env: NodeJS.ProcessEnv, out: Output): Promise<number> {
  const { values, positionals } = parse(args, {});
  if (values.help) return help(out);
  const [action, id, file, ...extra] = positionals;
  if (id === undefined || extra.length > 0)
    throw new UsageError('expected: service put SERVICE FILE | delete SERVICE | show SERVICE');
  const path = `/v1/services/${encodeURIComponent(id)}`;
  const conn = connection(values, env);
  if (action === 'put') {
    if (file === undefined) throw new UsageError('service put needs SERVICE and FILE');
    let definition: unknown;
    try {
      definition = readConfigDocument(readFileSync(file, 'utf8'), file);
    } catch (error) {
      throw new UsageError(`${file}: ${(error as Error).message}`);
    }
    out.log(pretty(await call(conn, 'PUT', path, definition)));
  } else if (action === 'delete' && file === undefined) out.log(pretty(await call(conn, 'DELETE', path)));
  else if (action === 'show' && file === undefined) out.log(pretty(await call(conn, 'GET', path)));
  else throw new UsageError('expected: service put SERVICE FILE | delete SERVICE | show SERVICE');
  return 0;
}

async function config(args: string[], env: NodeJS.ProcessEnv, out: Output): Promise<number> {
  const { values, positionals } = parse(args, { audit: { type: 'boolean' } });
  if (values.help) return help(out);
  if (positionals.length > 0) throw new UsageError('config takes no arguments');
  out.log(pretty(await call(connection(values, env), 'GET', values.audit ? '/v1/config/audit' : '/v1/config')));
  return 0;
}

export const ADMIN_COMMANDS = { list, purge, explain: explainCommand, stats, reload, service, config } as const;

/** Runs one admin command; errors become a message and an exit status. */
export async function runAdminCommand(
  command: keyof typeof ADMIN_COMMANDS,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  out: Output = console,
): Promise<number> {
  try {
    return await ADMIN_COMMANDS[command](args, env, out);
  } catch (error) {
    if (error instanceof UsageError) {
      out.error(`cachefront ${command}: ${error.message}\n\n${ADMIN_HELP}`);
      return 2;
    }
    if (error instanceof ApiError) {
      out.error(`cachefront ${command}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
