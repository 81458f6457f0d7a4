/**
 * @module Headers that belong to one connection and never cross the proxy, in either direction
 * (RFC 9110 §7.6.1): the fixed list plus every field the Connection header names.
 */

export type Headers = Record<string, string | string[] | undefined>;

export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Field names listed in Connection, lower-cased. */
function connectionListed(headers: Headers): Set<string> | undefined {
  const connection = headers.connection;
  if (connection === undefined) return undefined;
  const listed = new Set<string>();
  for (const line of Array.isArray(connection) ? connection : [connection]) {
    for (const name of line.split(',')) {
      const trimmed = name.trim().toLowerCase();
      if (trimmed) listed.add(trimmed);
    }
  }
  return listed;
}

/**
 * Copies `headers` (lower-case names, as Node and undici give them) without hop-by-hop fields, without
 * HTTP/2 pseudo-headers (`:method`, `:path`, `:authority`, `:scheme`: an HTTP/2 request's own framing,
 * never a field to pass on), and without those in `alsoDrop`.
 */
export function endToEndHeaders(headers: Headers, alsoDrop?: ReadonlySet<string>): Headers {
  const listed = connectionListed(headers);
  const out: Headers = {};
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 || HOP_BY_HOP.has(name) || listed?.has(name) || alsoDrop?.has(name)) continue;
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
