/**
 * @module The request the origin receives, built from the edge's view of the client request. The
 * edge writes the forwarding headers itself and never passes on a client's copies of them.
 */
import { acceptEncodingBucket, originAcceptEncoding, servedCoding } from '../key/accept-encoding.js';
import { targetString } from '../key/url.js';
import { IMAGE_ACCEPT } from '../key/vary.js';
import { endToEndHeaders, type Headers } from '../origin/hop-by-hop.js';
import { cookieValue } from '../rules/match.js';
import type { RequestView } from './recv.js';
import { UNKEYED_OVERRIDES } from './unkeyed-headers.js';

/**
 * Headers the edge always writes itself: the origin must be able to trust who connected (and as
 * which host). No service setting lets a client supply them.
 */
export const EDGE_OWNED = new Set(['host', 'x-forwarded-for', 'x-real-ip', 'via']);

/**
 * Forwarding headers the edge writes unless a service keys on them (key.headers) — for an origin
 * behind another proxy layer that needs the client's value; it is then part of the key.
 */
const EDGE_DEFAULTED = new Set(['x-forwarded-proto', 'x-forwarded-host']);

/**
 * Validators and ranges belong to one client; a fill fetches the complete current response that
 * every waiter can share, and the edge answers conditionals and ranges itself.
 */
const CLIENT_SPECIFIC = new Set([
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
  'range',
]);

/**
 * Expect: 100-continue is answered to the client where it arrives (Node's HTTP/1.1 server, the
 * HTTP/2 streams in tls/h2-exchange.ts); the origin is sent the body without waiting for a 100.
 * (The origin client refuses the field, so forwarding it failed every such upload with a 502.)
 */
const ANSWERED_HERE = ['expect'];

// A fill never sends a request body (a GET body has no defined meaning and is not in the key).
const DROP_FOR_FILL = new Set([
  ...EDGE_OWNED,
  ...UNKEYED_OVERRIDES,
  ...CLIENT_SPECIFIC,
  ...ANSWERED_HERE,
  'accept-encoding',
  'content-length',
]);
const DROP_FOR_PASS = new Set([...EDGE_OWNED, ...UNKEYED_OVERRIDES, ...ANSWERED_HERE, 'accept-encoding']);

/**
 * The drop list for one service: a header it keys on is forwarded (it is part of the key); the
 * device header is the edge's to write. Computed once per service.
 */
function dropList(base: Set<string>, view: RequestView): Set<string> {
  const cached = dropLists.get(base)?.get(view.service);
  if (cached) return cached;
  const list = new Set(base);
  for (const name of view.service.key.headers) if (!EDGE_OWNED.has(name)) list.delete(name);
  const deviceHeader = view.runtime.vary.deviceHeader;
  if (deviceHeader !== undefined) list.add(deviceHeader);
  let perService = dropLists.get(base);
  if (!perService) {
    perService = new WeakMap();
    dropLists.set(base, perService);
  }
  perService.set(view.service, list);
  return list;
}

const dropLists = new Map<Set<string>, WeakMap<object, Set<string>>>();

function forwardingHeaders(view: RequestView, headers: Headers): Headers {
  headers.host = view.authority;
  if (view.upstream) return upstreamHeaders(view, headers);
  // The device bucket, as the edge classified it (the client's own copy was dropped with the rest
  // of the edge-owned headers).
  const deviceHeader = view.runtime.vary.deviceHeader;
  if (deviceHeader !== undefined) {
    headers[deviceHeader] = view.runtime.vary.classifyDevice(single(view.headers['user-agent']));
  }
  headers['x-forwarded-for'] = view.clientIp;
  headers.via = '1.1 cachefront';
  const keyed = view.service.key.headers;
  for (const name of EDGE_DEFAULTED) {
    if (keyed.includes(name) && headers[name] !== undefined) continue;
    headers[name] = name === 'x-forwarded-proto' ? view.scheme : view.authority;
  }
  // The origin sees the canonical coding set the key used, so what it sends is readable by every
  // client that shares the entry.
  headers['accept-encoding'] = originAcceptEncoding(
    servedCoding(acceptEncodingBucket(view.headers['accept-encoding'])),
  );
  return headers;
}

/**
 * A fetch-by-URL upstream is a third party: it is not told who asked or through which host
 * (no X-Forwarded-*), only that a cache did (Via); it gets the canonical coding set, as an origin.
 */
function upstreamHeaders(view: RequestView, headers: Headers): Headers {
  headers.via = '1.1 cachefront';
  headers['accept-encoding'] = originAcceptEncoding(
    servedCoding(acceptEncodingBucket(view.headers['accept-encoding'])),
  );
  return headers;
}

/**
 * Headers for a cache fill (a GET whose response may be shared). The origin receives exactly what
 * was keyed: a header the key reduces to a bucket is sent as that bucket's canonical value (the
 * bucket's User-Agent, the canonical Accept-Encoding), never the client's own, so two clients of
 * one bucket cause byte-identical origin requests — and no client can plant text (an echoed
 * User-Agent) in a response every other client of its bucket gets. Fields are sent in name order,
 * so the client's header order does not show either.
 */
export function fillRequestHeaders(view: RequestView, varyNames: readonly string[]): Headers {
  const headers = forwardingHeaders(view, endToEndHeaders(view.headers, dropList(DROP_FOR_FILL, view)));
  const bucket = view.runtime.vary.classifyDevice(single(view.headers['user-agent']));
  headers['user-agent'] = view.runtime.bucketUserAgents[bucket];
  // An image the edge negotiates itself is stored as the origin's own format for every Accept
  // bucket: the origin is asked for that, whatever this client accepts.
  if (varyNames.includes(IMAGE_ACCEPT)) headers.accept = '*/*';
  const cookie = fillCookie(view);
  if (cookie === undefined) delete headers.cookie;
  else headers.cookie = cookie;
  const sorted: Headers = {};
  for (const name of Object.keys(headers).sort()) sorted[name] = headers[name];
  return sorted;
}

/** Headers for a pass (the response goes to this client only: its own User-Agent is kept). */
export function passRequestHeaders(view: RequestView): Headers {
  return forwardingHeaders(view, endToEndHeaders(view.headers, dropList(DROP_FOR_PASS, view)));
}

/** The Cookie header a fill sends: the client's, without the cookies the service ignores. */
export function fillCookie(view: RequestView): string | undefined {
  const header = view.headers.cookie;
  if (header === undefined || header === '') return undefined;
  // A rule keys on these cookies: they alone reach the origin, so the shared answer depends on
  // nothing the key does not hold.
  const keyed = view.rules.request?.rule.key?.cookies;
  if (keyed !== undefined && keyed.length > 0) return keyedCookies(view, keyed);
  const filter = view.runtime.vary.cookies;
  return filter ? filter(header) : header;
}

function keyedCookies(view: RequestView, names: readonly string[]): string | undefined {
  const pairs: string[] = [];
  for (const name of names) {
    const value = cookieValue(view.headers, name);
    if (value !== undefined) pairs.push(`${name}=${value}`);
  }
  return pairs.length === 0 ? undefined : pairs.join('; ');
}

/** Does a rule key on every cookie a fill sends (so a response need not vary on Cookie)? */
export function cookiesKeyed(view: RequestView): boolean {
  return (view.rules.request?.rule.key?.cookies.length ?? 0) > 0;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function originTarget(view: RequestView): string {
  return targetString(view.target);
}
