import { describe, expect, it } from 'vitest';
import { assembleConfig, fileDigest, LiveConfig } from '../../../src/config/live-config.js';
import { parseConfig } from '../../../src/config/load.js';
import { restartOnlyChanges } from '../../../src/config/restart-settings.js';

const origin = { url: 'http://127.0.0.1:1' };
const doc = (extra: object = {}) => ({ services: [{ id: 'shop', hosts: ['shop.test'], origin }], ...extra });
const catalog = (version: number, services: Record<string, object>) => ({
  version,
  services: new Map(Object.entries(services)),
});

describe('assembling the file and the catalog', () => {
  it('appends catalog services after the file’s, by id, named by their key', () => {
    const { config, refused } = assembleConfig(
      doc(),
      'f.yaml',
      catalog(2, { zeta: { hosts: ['z.test'], origin }, alpha: { id: 'other', hosts: ['a.test'], origin } }),
      {},
    );
    expect(config.services.map((s) => s.id)).toEqual(['shop', 'alpha', 'zeta']);
    expect(refused).toEqual([]);
  });

  it('leaves out a catalog service the whole refuses, and serves the others', () => {
    const { config, refused } = assembleConfig(
      doc(),
      'f.yaml',
      catalog(3, { clash: { hosts: ['shop.test'], origin }, ok: { hosts: ['ok.test'], origin }, bad: { hosts: [] } }),
      {},
    );
    expect(config.services.map((s) => s.id)).toEqual(['shop', 'ok']);
    expect(refused.map((r) => r.service).sort()).toEqual(['bad', 'clash']);
    expect(refused.find((r) => r.service === 'clash')?.issues[0]).toContain('already served by service "shop"');
  });

  it('throws the file’s own problems', () => {
    expect(() => assembleConfig({ services: [{ id: 'X' }] }, 'f.yaml', catalog(1, {}), {})).toThrow(/services\.0\.id/);
  });

  it('needs a service in the file only without the catalog', () => {
    expect(() => parseConfig({}, 'f.yaml', {})).toThrow(/at least one service is needed/);
    expect(parseConfig({ catalog: { enabled: true } }, 'f.yaml', {}).services).toEqual([]);
  });
});

describe('a process’s live configuration', () => {
  const text = (host: string) =>
    `services:\n  - { id: shop, hosts: [${host}], origin: { url: "http://127.0.0.1:1" } }\n`;

  it('applies a valid file, tells its listeners, and names it by digest', () => {
    const live = new LiveConfig(text('a.test'), 'f.yaml', {});
    const seen: string[][] = [];
    live.onChange((config) => seen.push(config.services[0]?.hosts ?? []));
    live.setFile(text('b.test'));
    expect(seen).toEqual([['b.test']]);
    expect(live.version).toEqual({ file: fileDigest(text('b.test')), catalog: 0 });
  });

  it('refuses a file that does not validate and keeps running the old one', () => {
    const live = new LiveConfig(text('a.test'), 'f.yaml', {});
    const before = live.current;
    expect(() => live.setFile('services: [{ id: "Bad!" }]')).toThrow(/f\.yaml[\s\S]*services\.0\.id/);
    expect(() => live.setFile('services: [\n')).toThrow(/syntax/);
    expect(live.current).toBe(before);
  });

  it('applies another catalog version, and not the same one twice', () => {
    const live = new LiveConfig(text('a.test'), 'f.yaml', {});
    let changes = 0;
    live.onChange(() => changes++);
    expect(live.setCatalog(catalog(1, { n: { hosts: ['n.test'], origin } })).applied).toBe(true);
    expect(live.setCatalog(catalog(1, {})).applied).toBe(false);
    // A lower version after a flush of Redis: applied (reads are never reordered).
    expect(live.setCatalog(catalog(0, {})).applied).toBe(true);
    expect(live.current.services.map((s) => s.id)).toEqual(['shop']);
    expect(changes).toBe(2);
  });
});

describe('settings that wait for a restart', () => {
  const config = (edgePort: number, accessLog: boolean, redis = 'redis://127.0.0.1:6379') =>
    parseConfig({ ...doc(), edge: { listen: { port: edgePort }, accessLog }, redis: { url: redis } }, 'f', {});

  it('names the listener and the store, not what a reload applies', () => {
    expect(restartOnlyChanges(config(8080, true), config(8080, false))).toEqual([]);
    expect(restartOnlyChanges(config(8080, true), config(8081, true, 'redis://10.0.0.1:6379'))).toEqual([
      'edge.listen',
      'redis',
    ]);
  });
});
