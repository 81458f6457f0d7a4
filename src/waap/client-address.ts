/**
 * @module Who is the client? The connecting address, unless it is a trusted proxy: then
 * X-Forwarded-For is read from the right, hop by hop, and the first address that is not a trusted
 * proxy is the client. Hops a client wrote itself (left of the first untrusted one) are never
 * believed, so a client cannot choose its own address.
 */
import type { BlockList } from 'node:net';
import { isIP } from 'node:net';
import { contains } from './cidr.js';

export function clientAddress(
  remote: string,
  forwardedFor: string | string[] | undefined,
  trusted: BlockList | undefined,
): string {
  if (!trusted || forwardedFor === undefined || !contains(trusted, remote)) return remote;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map((h) => h.trim());
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (isIP(hop) === 0) return remote; // a malformed chain is not believed at all
    if (!contains(trusted, hop)) return hop;
  }
  return hops[0] ?? remote;
}
