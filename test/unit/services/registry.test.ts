import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { normaliseHost, ServiceRegistry } from '../../../src/services/registry.js';

const config = parseConfig(
  {
    services: [
      { id: 'a', hosts: ['www.example.com', '*.example.com'], origin: { url: 'http://127.0.0.1:1' } },
      { id: 'b', hosts: ['api.example.com'], origin: { url: 'http://127.0.0.1:2' } },
    ],
  },
  't',
  {},
);
const registry = ServiceRegistry.fromConfig(config);

describe('normaliseHost', () => {
  it.each([
    ['WWW.Example.COM', 'http', { name: 'www.example.com', authority: 'www.example.com' }],
    ['www.example.com:80', 'http', { name: 'www.example.com', authority: 'www.example.com' }],
    ['www.example.com:443', 'https', { name: 'www.example.com', authority: 'www.example.com' }],
    ['www.example.com:8080', 'http', { name: 'www.example.com', authority: 'www.example.com:8080' }],
    ['www.example.com:0443', 'https', { name: 'www.example.com', authority: 'www.example.com' }],
    ['www.example.com.', 'http', { name: 'www.example.com', authority: 'www.example.com' }],
    ['[::1]:8080', 'http', { name: '[::1]', authority: '[::1]:8080' }],
  ] as const)('%s (%s)', (value, scheme, expected) => {
    expect(normaliseHost(value, scheme)).toEqual(expected);
  });

  it.each([undefined, '', 'a b', 'host:99999', 'user@host', 'host/path', 'a,b', 'host:port', '-bad.example'])(
    'rejects %j',
    (value) => {
      expect(normaliseHost(value, 'http')).toBeUndefined();
    },
  );
});

describe('ServiceRegistry', () => {
  it('exact names win over wildcards', () => {
    expect(registry.resolve('api.example.com')?.id).toBe('b');
    expect(registry.resolve('www.example.com')?.id).toBe('a');
  });
  it('a wildcard matches exactly one more label', () => {
    expect(registry.resolve('shop.example.com')?.id).toBe('a');
    expect(registry.resolve('a.b.example.com')).toBeUndefined();
    expect(registry.resolve('example.com')).toBeUndefined();
  });
  it('unknown hosts resolve to nothing', () => {
    expect(registry.resolve('evil.test')).toBeUndefined();
  });
});
