import { describe, expect, it } from 'vitest';
import { mayAccess, TokenAuthority } from '../../src/admin/auth.js';
import { parseConfig } from '../../src/config/load.js';

const authority = new TokenAuthority({
  operator: ['op-0123456789abcdef'],
  services: { shop: ['shop-0123456789abcdef'] },
});

describe('admin tokens', () => {
  it.each([
    ['Bearer op-0123456789abcdef', { kind: 'operator' }],
    ['bearer   shop-0123456789abcdef', { kind: 'service', service: 'shop' }],
    ['Bearer wrong-0123456789abcdef', undefined],
    ['Basic op-0123456789abcdef', undefined],
    ['Bearer op-0123456789abcdef extra', undefined],
    [undefined, undefined],
    ['', undefined],
  ] as const)('%j → %j', (header, caller) => {
    expect(authority.identify(header)).toEqual(caller);
  });

  it('a service token reaches its own service only; an operator token every one', () => {
    expect(mayAccess({ kind: 'service', service: 'shop' }, 'shop')).toBe(true);
    expect(mayAccess({ kind: 'service', service: 'shop' }, 'blog')).toBe(false);
    expect(mayAccess({ kind: 'operator' }, 'blog')).toBe(true);
  });

  it('configuration: short tokens and tokens for unknown services are refused; the environment adds one', () => {
    const service = { id: 'shop', hosts: ['shop.test'], origin: { url: 'http://127.0.0.1:1' } };
    expect(() => parseConfig({ admin: { tokens: { operator: ['short'] } }, services: [service] }, 't', {})).toThrow(
      /admin\.tokens\.operator\.0: admin tokens are at least 16 characters/,
    );
    expect(() =>
      parseConfig({ admin: { tokens: { services: { blog: ['0123456789abcdef0'] } } }, services: [service] }, 't', {}),
    ).toThrow(/admin\.tokens\.services\.blog: no service "blog"/);
    const config = parseConfig({ services: [service] }, 't', { CACHEFRONT_ADMIN_TOKEN: 'from-the-env-0123456' });
    expect(config.admin.tokens.operator).toEqual(['from-the-env-0123456']);
  });
});
