/**
 * @module The request the origin receives, built from the edge's view of the client request. The
 * edge writes the forwarding headers itself and never passes on a client's copies of them.
 */
import { acceptEncodingBucket, originAcceptEncoding } from '../key/accept-encoding.js';
import { targetString } from '../key/url.js';
import { endToEndHeaders, type Headers } from '../origin/hop-by-hop.js';
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

// A fill never sends a request body (a GET body has no defined meaning and is not in the key).
const DROP_FOR_FILL = new Set([
  ...EDGE_OWNED,
  ...UNKEYED_OVERRIDES,
  ...CLIENT_SPECIFIC,
  'accept-encoding',
  'content-length',
]);
const DROP_FOR_PASS = new Set([...EDGE_OWNED, ...UNKEYED_OVERRIDES, 'accept-encoding']);

/** The drop list for one service: a header it keys on is forwarded (it is part of the key). */
function dropList(base: Set<string>, view: RequestView): Set<string> {
  const keyed = view.service.key.headers;
  if (keyed.length === 0) return base;
  const list = new Set(base);
  for (const name of keyed) if (!EDGE_OWNED.has(name)) list.delete(name);
  return list;
}

function forwardingHeaders(view: RequestView, headers: Headers): Headers {
  headers.host = view.authority;
  headers['x-forwarded-for'] = view.clientIp;
  headers.via = '1.1 cachefront';
  const keyed = view.service.key.headers;
  for (const name of EDGE_DEFAULTED) {
    if (keyed.includes(name) && headers[name] !== undefined) continue;
    headers[name] = name === 'x-forwarded-proto' ? view.scheme : view.authority;
  }
  // The origin sees the canonical coding set the key used, so what it sends is readable by every
  // client that shares the entry.
  headers['accept-encoding'] = originAcceptEncoding(acceptEncodingBucket(view.headers['accept-encoding']));
  return headers;
}

/** Headers for a cache fill (a GET whose response may be shared). */
export function fillRequestHeaders(view: RequestView): Headers {
  return forwardingHeaders(view, endToEndHeaders(view.headers, dropList(DROP_FOR_FILL, view)));
}

/** Headers for a pass (the response goes to this client only). */
export function passRequestHeaders(view: RequestView): Headers {
  return forwardingHeaders(view, endToEndHeaders(view.headers, dropList(DROP_FOR_PASS, view)));
}

export function originTarget(view: RequestView): string {
  return targetString(view.target);
}
