import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig, parseConfigText } from '../../../src/config/load.js';

const service = { id: 'shop', hosts: ['shop.example'], origin: { url: 'http://127.0.0.1:9000' } };
const issuesOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (error) {
    expect((error as { code: string }).code).toBe('CF_ERR_CONFIG_INVALID');
    return (error as { issues: string[] }).issues;
  }
  throw new Error('expected the configuration to be refused');
};

describe('configuration', () => {
  it('the shipped example is valid', () => {
    const config = loadConfigFile('examples/cachefront.yaml', {});
    expect(config.services[0]?.id).toBe('example');
    expect(config.redis.fallback).toBe('local-or-embedded');
    expect(config.l1.maxBytes).toBe(64 * 1024 * 1024);
  });

  it('fills defaults a production edge expects', () => {
    const config = parseConfig({ services: [service] }, 't', {});
    const s = config.services[0];
    expect(s?.cache.maxObjects).toBe(50_000);
    expect(s?.key.dropQuery).toEqual(['utm_*', 'fbclid', 'gclid']);
    expect(s?.key.device.detect).toBe('ua-parser');
    expect(s?.key.exposeKeyHeader).toBe(false);
    expect(s?.cache.heuristicFreshness.enabled).toBe(false);
    expect(config.redis.fallback).toBe('none');
    expect(config.admin.listen.host).toBe('127.0.0.1');
    expect(Object.isFrozen(config.services[0]?.origin)).toBe(true);
  });

  it('reports every error with its path, including misspelt keys', () => {
    const issues = issuesOf(() =>
      parseConfig(
        {
          edge: { listen: { port: 99999 } },
          services: [
            { ...service, cache: { maxObjectByte: 5 } },
            { ...service, id: 'Bad Id', origin: { url: 'ftp://x' } },
          ],
          extra: true,
        },
        't',
        {},
      ),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^edge\.listen\.port: /),
        expect.stringMatching(/^services\.0\.cache: .*maxObjectByte/),
        expect.stringMatching(/^services\.1\.id: /),
        expect.stringMatching(/^services\.1\.origin\.url: /),
        expect.stringMatching(/^\(top level\): .*extra/),
      ]),
    );
  });

  it('refuses duplicate ids and hosts served twice', () => {
    const issues = issuesOf(() => parseConfig({ services: [service, { ...service }] }, 't', {}));
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^services\.1\.id: duplicate/),
        expect.stringMatching(/^services\.1\.hosts\.0: host "shop.example" is already served by service "shop"/),
      ]),
    );
  });

  it('refuses keepQueryOnly together with dropQuery, and regex detection without rules', () => {
    const issues = issuesOf(() =>
      parseConfig(
        { services: [{ ...service, key: { dropQuery: ['a'], keepQueryOnly: ['b'], device: { detect: 'regex' } } }] },
        't',
        {},
      ),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^services\.0\.key\.keepQueryOnly: /),
        expect.stringMatching(/^services\.0\.key\.device\.rules: /),
      ]),
    );
  });

  it('keepQueryOnly alone replaces the default drop list', () => {
    const config = parseConfig({ services: [{ ...service, key: { keepQueryOnly: ['page'] } }] }, 't', {});
    expect(config.services[0]?.key.dropQuery).toEqual([]);
  });

  it('reads sizes and durations with units, and rejects nonsense', () => {
    const config = parseConfig(
      {
        services: [
          { ...service, origin: { ...service.origin, connectTimeoutMs: '2s' }, cache: { maxObjectBytes: '512 KiB' } },
        ],
      },
      't',
      {},
    );
    expect(config.services[0]?.origin.connectTimeoutMs).toBe(2000);
    expect(config.services[0]?.cache.maxObjectBytes).toBe(512 * 1024);
    const issues = issuesOf(() =>
      parseConfig({ services: [{ ...service, cache: { maxObjectBytes: 'lots' } }] }, 't', {}),
    );
    expect(issues[0]).toMatch(/^services\.0\.cache\.maxObjectBytes: "lots" is not a size/);
  });

  it('environment overrides Redis URL and ports', () => {
    const config = parseConfig({ services: [service] }, 't', {
      REDIS_URL: 'redis://10.0.0.1:6380',
      CACHEFRONT_EDGE_PORT: '8000',
      CACHEFRONT_ADMIN_PORT: '',
    });
    expect(config.redis.url).toBe('redis://10.0.0.1:6380');
    expect(config.edge.listen.port).toBe(8000);
    expect(config.admin.listen.port).toBe(9091); // empty means unset
  });

  it('reports YAML syntax errors and duplicate keys', () => {
    expect(issuesOf(() => parseConfigText('services: [\n', 't', {}))[0]).toMatch(/^syntax: /);
    expect(issuesOf(() => parseConfigText('redis: {}\nredis: {}\nservices: []\n', 't', {}))[0]).toMatch(/^syntax: /);
  });

  it('names an unreadable file', () => {
    expect(() => loadConfigFile('/nonexistent/cachefront.yaml', {})).toThrow(/cannot read configuration/);
  });

  it('the example file documents every top-level section it uses', () => {
    const text = readFileSync('examples/cachefront.yaml', 'utf8');
    for (const section of ['edge:', 'admin:', 'redis:', 'l1:', 'services:']) expect(text).toContain(section);
  });
});

describe('device buckets and the User-Agent their fills send', () => {
  const withDevice = (device: Record<string, unknown>) => () =>
    parseConfig({ services: [{ ...service, key: { device } }] }, 't', {});

  it('the built-in User-Agents fall in their own buckets, whatever happens to tablets', () => {
    for (const tablets of ['mobile', 'desktop', 'tablet']) {
      const config = parseConfig({ services: [{ ...service, key: { device: { tablets } } }] }, 't', {});
      expect(config.services[0]?.key.device.header).toBe('x-device-type');
    }
  });

  it("a bucket of the operator's own rules needs a User-Agent of its own, and it must match", () => {
    const rules = [{ bucket: 'phone', pattern: 'iPhone|Android' }];
    expect(issuesOf(withDevice({ detect: 'regex', rules }))).toEqual([
      expect.stringContaining('key.device.userAgents.phone'),
    ]);
    expect(
      issuesOf(withDevice({ detect: 'regex', rules, userAgents: { phone: 'Mozilla/5.0 (Windows NT 10.0)' } })),
    ).toEqual([expect.stringMatching(/key\.device\.userAgents\.phone.*falls in bucket "desktop"/)]);
    const config = withDevice({
      detect: 'regex',
      rules,
      userAgents: { phone: 'Mozilla/5.0 (iPhone)' },
      header: false,
    })();
    expect(config.services[0]?.key.device.header).toBe(false);
  });
});
