/**
 * @module CIDR lists (allow/deny per service, trusted proxies) as node's BlockList, which matches
 * IPv4, IPv6 and IPv4-mapped IPv6 addresses alike.
 */
import { BlockList, isIP } from 'node:net';

/** Parses "10.0.0.0/8", "2001:db8::/32" or a single address; undefined when invalid. */
export function parseCidr(value: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText] = value.trim().split('/');
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (
    !Number.isInteger(prefix) ||
    prefix < 0 ||
    prefix > max ||
    (prefixText !== undefined && !/^\d+$/.test(prefixText))
  ) {
    return undefined;
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

export function compileCidrs(list: readonly string[]): BlockList | undefined {
  if (list.length === 0) return undefined;
  const blocks = new BlockList();
  for (const entry of list) {
    const cidr = parseCidr(entry);
    if (!cidr) throw new Error(`invalid CIDR "${entry}"`);
    blocks.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return blocks;
}

export function contains(blocks: BlockList, ip: string): boolean {
  const version = isIP(ip);
  return version !== 0 && blocks.check(ip, version === 4 ? 'ipv4' : 'ipv6');
}
