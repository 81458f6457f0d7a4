import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/store/memory-store.js';
import { compileCidrs, contains, parseCidr } from '../../src/waap/cidr.js';
import { clientAddress } from '../../src/waap/client-address.js';

describe('CIDR lists', () => {
  it.each([
    ['10.0.0.0/8', '10.255.0.1', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['192.0.2.7', '192.0.2.7', true],
    ['2001:db8::/32', '2001:db8:1::5', true],
    ['2001:db8::/32', '2001:db9::5', false],
    ['127.0.0.0/8', '::ffff:127.0.0.1', true], // IPv4-mapped, as Node reports dual-stack sockets
  ])('%s contains %s: %s', (cidr, ip, expected) => {
    expect(contains(compileCidrs([cidr]) as NonNullable<ReturnType<typeof compileCidrs>>, ip)).toBe(expected);
  });

  it.each(['10.0.0.0/33', '10.0.0/8', 'example.com', '::1/129', '10.0.0.0/x', ''])('rejects %j', (value) => {
    expect(parseCidr(value)).toBeUndefined();
  });
});

describe('clientAddress', () => {
  const trusted = compileCidrs(['10.0.0.0/8']);
  it.each([
    ['no trusted proxies: the socket', '10.0.0.1', '1.1.1.1', undefined, '10.0.0.1'],
    ['untrusted peer: the socket', '8.8.8.8', '1.1.1.1', trusted, '8.8.8.8'],
    ['trusted peer: the header', '10.0.0.1', '1.1.1.1', trusted, '1.1.1.1'],
    ['trusted chain: first untrusted from the right', '10.0.0.1', '6.6.6.6, 1.1.1.1, 10.0.0.2', trusted, '1.1.1.1'],
    ['malformed chain: the socket', '10.0.0.1', '1.1.1.1, not-an-ip', trusted, '10.0.0.1'],
    ['all trusted: the leftmost', '10.0.0.1', '10.0.0.3, 10.0.0.2', trusted, '10.0.0.3'],
  ] as const)('%s', (_why, remote, xff, list, expected) => {
    expect(clientAddress(remote, xff, list)).toBe(expected);
  });
});

describe('rate limit estimate (embedded store; the Redis script is tested end to end)', () => {
  it('allows the limit per window, then says how long to wait', async () => {
    const store = new MemoryStore({ maxBytes: 1024 });
    const t0 = 1_800_000_000_000 - (1_800_000_000_000 % 10_000);
    for (let i = 0; i < 3; i++) expect((await store.hit('s', 'c', 3, 10_000, t0 + i)).allowed).toBe(true);
    const refused = await store.hit('s', 'c', 3, 10_000, t0 + 5);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect((await store.hit('s', 'other', 3, 10_000, t0 + 5)).allowed).toBe(true); // per client
    // halfway through the next window half of the previous window still counts: 1.5 + 1 ≤ 3
    expect((await store.hit('s', 'c', 3, 10_000, t0 + 15_000)).allowed).toBe(true);
  });
});
