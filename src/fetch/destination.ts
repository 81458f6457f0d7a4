/**
 * @module Where fetch-by-URL may go (issue 19; docs/large-objects.md, "Fetch-by-URL"): never an open
 * proxy into the edge's own network. A URL is refused before any request is made when it carries
 * userinfo, is not http(s), is off the service's allow-list, or names — directly or through DNS —
 * an address that is not public: loopback, private, link-local, shared, reserved, multicast or
 * documentation ranges, IPv4 or IPv6, IPv4 embedded in IPv6 included (mapped, compatible, NAT64,
 * 6to4). Numeric hosts in any spelling (decimal `2130706433`, octal `0177.0.0.1`, hex `0x7f.1`)
 * are normalised by the WHATWG URL parser before they are checked. Every address a name resolves
 * to must be public, and the fetch then connects to the address checked here (pinned), so a
 * second lookup cannot rebind the name to an internal one.
 */
import { BlockList, isIP } from 'node:net';
import { contains } from '../waap/cidr.js';

/** Why a destination was refused (the 403's detail, the log line). */
export type Refusal = 'not-a-url' | 'scheme' | 'userinfo' | 'not-allowed' | 'not-public' | 'unresolvable';

export type Checked<T> = { ok: true; value: T } | { ok: false; refusal: Refusal; detail: string };

const refuse = <T>(refusal: Refusal, detail: string): Checked<T> => ({ ok: false, refusal, detail });

/** Addresses that are not the public Internet (IANA special-purpose registries, RFC 6890). */
const NOT_PUBLIC = (() => {
  const list = new BlockList();
  for (const [network, prefix] of [
    ['0.0.0.0', 8], // "this network"
    ['10.0.0.0', 8],
    ['100.64.0.0', 10], // shared (carrier-grade NAT)
    ['127.0.0.0', 8],
    ['169.254.0.0', 16], // link-local (cloud metadata lives here)
    ['172.16.0.0', 12],
    ['192.0.0.0', 24], // IETF protocol assignments
    ['192.0.2.0', 24], // documentation
    ['192.88.99.0', 24], // 6to4 relay anycast
    ['192.168.0.0', 16],
    ['198.18.0.0', 15], // benchmarking
    ['198.51.100.0', 24],
    ['203.0.113.0', 24],
    ['224.0.0.0', 4], // multicast
    ['240.0.0.0', 4], // reserved, and the broadcast address
  ] as const) {
    list.addSubnet(network, prefix, 'ipv4');
  }
  for (const [network, prefix] of [
    ['::', 128], // unspecified
    ['::1', 128], // loopback
    ['100::', 64], // discard
    ['2001::', 23], // IETF protocol assignments (Teredo, ORCHID…)
    ['2001:db8::', 32], // documentation
    ['fc00::', 7], // unique local
    ['fe80::', 10], // link-local
    ['fec0::', 10], // site-local (deprecated)
    ['ff00::', 8], // multicast
  ] as const) {
    list.addSubnet(network, prefix, 'ipv6');
  }
  return list;
})();

/** The IPv4 address an IPv6 one carries, where it carries one (mapped, compatible, NAT64, 6to4). */
function embeddedIpv4(address: string): string | undefined {
  const words = expandIpv6(address);
  if (!words) return undefined;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const [w0, w1, w2, w3, w4, w5, w6, w7] = words as [number, number, number, number, number, number, number, number];
  const zeroTo = (n: number) => words.slice(0, n).every((w) => w === 0);
  if (zeroTo(5) && w5 === 0xffff) return v4(w6, w7); // ::ffff:a.b.c.d (mapped)
  if (zeroTo(6) && (w6 !== 0 || w7 > 1)) return v4(w6, w7); // ::a.b.c.d (compatible, deprecated)
  if (w0 === 0x64 && w1 === 0xff9b && w2 === 0 && w3 === 0 && w4 === 0 && w5 === 0) return v4(w6, w7); // NAT64
  if (w0 === 0x2002) return v4(w1, w2); // 6to4
  return undefined;
}

/** The eight 16-bit words of an IPv6 address (a trailing dotted IPv4 part included). */
function expandIpv6(address: string): number[] | undefined {
  let text = address.toLowerCase().replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((w) => Number.parseInt(w, 16)));
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  const missing = 8 - front.length - back.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined;
  const words = [...front, ...new Array(missing).fill(0), ...back];
  return words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff) ? words : undefined;
}

/** Is this address on the public Internet? (Anything unparseable is not.) */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !NOT_PUBLIC.check(address, 'ipv4');
  if (family !== 6) return false;
  const bare = address.replace(/%.*$/, '');
  if (NOT_PUBLIC.check(bare, 'ipv6')) return false;
  const embedded = embeddedIpv4(bare);
  return embedded === undefined || isPublicAddress(embedded);
}

/** What an operator allows a service to fetch: hosts (exact, or `*.example.com`), URL prefixes, or `*`. */
export function allowedBy(url: URL, allow: readonly string[]): boolean {
  const host = url.hostname.toLowerCase();
  const href = url.href;
  return allow.some((rule) => {
    if (rule === '*') return true;
    if (rule.includes('://')) return href.startsWith(rule);
    const pattern = rule.toLowerCase();
    return pattern.startsWith('*.')
      ? host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1
      : host === pattern;
  });
}

/** Checks a requested URL's form and the allow-list, before any lookup. */
export function checkUrl(raw: string, allow: readonly string[]): Checked<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('not-a-url', 'not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return refuse('scheme', `${url.protocol} is not http(s)`);
  if (url.username !== '' || url.password !== '') return refuse('userinfo', 'a URL with credentials is never fetched');
  if (!allowedBy(url, allow)) return refuse('not-allowed', `${url.host} is not on the service's allow-list`);
  return { ok: true, value: url };
}

/** How names are resolved: every address of a name (node:dns's lookup with `all`, or a test's). */
export type Resolve = (hostname: string) => Promise<{ address: string; family: number }[]>;

/**
 * The address to connect to for a URL: its literal address, or every address its name resolves to
 * (all must be public; the first is pinned for the connection). `privateNetworks` are the
 * operator's exceptions (fetch.privateNetworks): addresses in them count as reachable.
 */
export async function destinationOf(
  url: URL,
  resolve: Resolve,
  privateNetworks?: BlockList,
): Promise<Checked<{ address: string; family: number }>> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const reachable = (address: string) =>
    isPublicAddress(address) || (privateNetworks !== undefined && contains(privateNetworks, address));
  const literal = isIP(host);
  if (literal !== 0) {
    return reachable(host)
      ? { ok: true, value: { address: host, family: literal } }
      : refuse('not-public', `${host} is not a public address`);
  }
  let addresses: { address: string; family: number }[];
  try {
    addresses = await resolve(host);
  } catch (error) {
    return refuse('unresolvable', `${host} does not resolve (${(error as Error).message})`);
  }
  const first = addresses[0];
  if (!first) return refuse('unresolvable', `${host} has no address`);
  const internal = addresses.find((a) => !reachable(a.address));
  if (internal) return refuse('not-public', `${host} resolves to ${internal.address}, not a public address`);
  return { ok: true, value: first };
}
