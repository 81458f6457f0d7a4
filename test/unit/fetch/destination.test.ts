/**
 * Fetch-by-URL's destination checks (src/fetch/destination.ts): each SSRF bypass class is refused
 * before any request could be made — numeric hosts in any spelling, IPv6 and IPv4 embedded in it,
 * names resolving to internal addresses (one of several is enough), credentials, other schemes,
 * hosts off the allow-list.
 */
import { describe, expect, it } from 'vitest';
import { allowedBy, checkUrl, destinationOf, isPublicAddress, type Resolve } from '../../../src/fetch/destination.js';
import { compileCidrs } from '../../../src/waap/cidr.js';

const ALLOW = ['artefacts.example.com', '*.mirror.example.org', 'https://github.com/org/'];
const resolver =
  (answers: Record<string, string[]>): Resolve =>
  async (host) => {
    const found = answers[host];
    if (!found) throw new Error('ENOTFOUND');
    return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
const checkAddress = async (url: string, answers: Record<string, string[]> = {}) => {
  const checked = checkUrl(url, [url.includes('://') ? new URL(url).hostname : url]);
  if (!checked.ok) return checked;
  return destinationOf(checked.value, resolver(answers));
};

describe('public addresses', () => {
  it.each([
    '127.0.0.1',
    '127.1.2.3',
    '0.0.0.0',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '198.18.0.1',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:a9fe:a9fe',
    '::127.0.0.1',
    '64:ff9b::10.0.0.1',
    '2002:7f00:1::',
    '2001:db8::1',
    'not an address',
  ])('%s is not public', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::8.8.8.8'])(
    '%s is public',
    (address) => {
      expect(isPublicAddress(address)).toBe(true);
    },
  );
});

describe('URLs refused before any lookup', () => {
  it.each([
    ['http://user:pass@artefacts.example.com/x', 'userinfo'],
    ['http://user@artefacts.example.com/x', 'userinfo'],
    ['ftp://artefacts.example.com/x', 'scheme'],
    ['file:///etc/passwd', 'scheme'],
    ['gopher://artefacts.example.com/', 'scheme'],
    ['/relative', 'not-a-url'],
    ['http://evil.example.net/x', 'not-allowed'],
    ['http://mirror.example.org/x', 'not-allowed'],
    ['https://github.com/other/x', 'not-allowed'],
  ])('%s: %s', (url, refusal) => {
    const checked = checkUrl(url, ALLOW);
    expect(checked.ok).toBe(false);
    expect(!checked.ok && checked.refusal).toBe(refusal);
  });

  it('the allow-list takes hosts, wildcard subdomains and URL prefixes', () => {
    expect(allowedBy(new URL('http://ARTEFACTS.example.com/a'), ALLOW)).toBe(true);
    expect(allowedBy(new URL('http://a.b.mirror.example.org/a'), ALLOW)).toBe(true);
    expect(allowedBy(new URL('https://github.com/org/repo/releases/x.tgz'), ALLOW)).toBe(true);
    expect(allowedBy(new URL('https://github.com.evil.net/org/'), ALLOW)).toBe(false);
    // "*": any host (the address checks still apply).
    expect(allowedBy(new URL('https://anything.example.net/x'), ['*'])).toBe(true);
  });
});

describe('destinations', () => {
  it.each([
    'http://2130706433/', // decimal 127.0.0.1
    'http://0177.0.0.1/', // octal
    'http://0x7f.0.0.1/', // hex
    'http://0x7f000001/',
    'http://127.1/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:7f00:1]/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[fe80::1]/',
  ])('%s is refused as not public, whatever its spelling', async (url) => {
    const host = new URL(url).hostname;
    const checked = checkUrl(url, [host]);
    expect(checked.ok).toBe(true);
    const destination = await destinationOf(checked.ok ? checked.value : new URL(url), resolver({}));
    expect(destination.ok).toBe(false);
    expect(!destination.ok && destination.refusal).toBe('not-public');
  });

  it('a name resolving to an internal address is refused, even beside a public one', async () => {
    expect(await checkAddress('http://intranet.example.com/', { 'intranet.example.com': ['10.0.0.5'] })).toMatchObject({
      ok: false,
      refusal: 'not-public',
    });
    expect(
      await checkAddress('http://mixed.example.com/', { 'mixed.example.com': ['93.184.216.34', '127.0.0.1'] }),
    ).toMatchObject({ ok: false, refusal: 'not-public' });
    expect(await checkAddress('http://gone.example.com/', {})).toMatchObject({ ok: false, refusal: 'unresolvable' });
  });

  it("the operator's private networks are reachable, and nothing else inside", async () => {
    const store = compileCidrs(['10.20.0.0/16']);
    const url = (u: string) => new URL(u);
    const names = resolver({ 'store.internal': ['10.20.1.2'], 'other.internal': ['10.30.1.2'] });
    expect(await destinationOf(url('http://store.internal/a'), names, store)).toMatchObject({ ok: true });
    expect(await destinationOf(url('http://10.20.9.9/a'), names, store)).toMatchObject({ ok: true });
    expect(await destinationOf(url('http://other.internal/a'), names, store)).toMatchObject({ refusal: 'not-public' });
    expect(await destinationOf(url('http://127.0.0.1/a'), names, store)).toMatchObject({ refusal: 'not-public' });
  });

  it('a public name is pinned to the address checked, so a second answer cannot rebind it', async () => {
    let answers = 0;
    const rebinding: Resolve = async () => [{ address: answers++ === 0 ? '93.184.216.34' : '127.0.0.1', family: 4 }];
    const checked = checkUrl('http://rebind.example.com/file', ['rebind.example.com']);
    const destination = await destinationOf(checked.ok ? checked.value : new URL('http://x'), rebinding);
    expect(destination).toEqual({ ok: true, value: { address: '93.184.216.34', family: 4 } });
    // The name is looked up once: the fetch connects to this address, never asks again.
    expect(answers).toBe(1);
  });
});
