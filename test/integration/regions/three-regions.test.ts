/**
 * Three regions, each its own redis-server, edge, admin listener and sync worker, in front of one
 * origin. A purge made in any region is applied in the others, with a receipt per region; from
 * the moment a region has applied a purge, it never serves what the purge removed (a
 * "resurrection": each test counts them and expects none).
 */
import { afterEach, describe, expect } from 'vitest';
import { syncMetrics } from '../../../src/regions/sync-metrics.js';
import { test } from '../../helpers/fixtures.js';
import {
  ask,
  ResurrectionLedger,
  receiptOf,
  startRegions,
  type TestRegion,
  type TestRegions,
  versionedOrigin,
} from '../../helpers/regions.js';
import { waitFor } from '../../helpers/wait.js';

/** Copies refused here because a purge they did not know of won (the sync workers' metric). */
async function conflicts(): Promise<number> {
  return (await syncMetrics.conflicts.get()).values.reduce((sum, value) => sum + value.value, 0);
}

let running: TestRegions | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe('three regions', () => {
  test('a purge made in one region is applied in every other, with a receipt from each', async ({ origin }) => {
    const pages = versionedOrigin(origin);
    running = await startRegions(['eu', 'us', 'ap'], origin.url);
    const [eu, us, ap] = running.regions as [TestRegion, TestRegion, TestRegion];
    const ledger = new ResurrectionLedger();
    for (const region of running.regions) {
      expect((await region.edge.get('/a')).text).toBe('/a v1');
      await waitFor(async () => (await region.edge.get('/a')).headers['x-cache-status'] === 'Hit', 'v1 stored');
    }
    const version = pages.bump('/a');
    const purged = await eu.admin.call('POST', '/v1/purge', { url: `http://${eu.edge.host}/a` });
    expect(purged.status).toBe(200);
    const receipt = purged.json.receipt as string;
    expect(receipt).toMatch(/^0:\d+-\d+$/);
    // Applied here at once; in the others as their workers read eu's journal.
    expect((await receiptOf(eu, receipt)).regions.eu).not.toBeNull();
    const done = await waitFor(async () => {
      const state = await receiptOf(eu, receipt);
      return state.complete && state;
    }, 'every region to apply the purge');
    expect(Object.keys(done.regions).sort()).toEqual(['ap', 'eu', 'us']);
    for (const [region, at] of Object.entries(done.regions))
      ledger.applied(region, '/a', version, Date.parse(at ?? ''));
    for (const region of [eu, us, ap]) expect(await ask(ledger, region, '/a')).toBe('/a v2');
    expect(ledger.resurrections()).toEqual([]);
    // Every peer has read eu's journal past the purge: the sync workers trim it.
    await waitFor(
      async () => (await eu.edge.redis.xlen(`cf:{${running?.service}}:journal`)) <= 1,
      'the journal trimmed',
    );
  });

  test('a page fetched in one region is copied to the others from its store, not fetched again', async ({ origin }) => {
    versionedOrigin(origin);
    running = await startRegions(['eu', 'us', 'ap'], origin.url);
    const [eu, us, ap] = running.regions as [TestRegion, TestRegion, TestRegion];
    expect((await eu.edge.get('/p')).text).toBe('/p v1');
    for (const region of [us, ap]) {
      // Asked only once the copy is there: asking earlier would fetch it.
      await waitFor(async () => (await region.edge.redis.keys(`cf:{${running?.service}}:e:*`)).length > 0, 'the copy');
      const copied = await region.edge.get('/p');
      expect(copied.text).toBe('/p v1');
      expect(copied.headers['x-cache-status']).toBe('Hit');
    }
    expect(origin.requests.filter((r) => r.url === '/p')).toHaveLength(1);
  });

  test('repeated and reordered delivery: a purge wins over a fill it raced, in any order', async ({ origin }) => {
    const pages = versionedOrigin(origin);
    running = await startRegions(['eu', 'us', 'ap'], origin.url);
    const [eu, us, ap] = running.regions as [TestRegion, TestRegion, TestRegion];
    for (const region of running.regions) await region.stopWorker();
    const service = running.service;
    const journal = async (region: TestRegion) =>
      (await region.edge.redis.xrange(`cf:{${service}}:journal`, '-', '+')).map(([id, fields]) => ({ id, fields }));
    /** eu fills `path` (v1); then the site changes and us purges it. eu's fill never knew of the purge. */
    const race = async (path: string) => {
      const before = (await journal(eu)).length;
      expect((await eu.edge.get(path)).text).toBe(`${path} v1`);
      await waitFor(async () => (await journal(eu)).length > before, 'eu to journal its fill');
      const version = pages.bump(path);
      expect((await us.admin.call('POST', '/v1/purge', { url: `http://${us.edge.host}${path}` })).status).toBe(200);
      const fill = (await journal(eu)).at(-1);
      const purge = (await journal(us)).at(-1);
      if (!fill || !purge) throw new Error('journals missing');
      return { fill, purge, version };
    };
    // ap's worker is handed the entries by the test, out of order and more than once.
    const worker = await ap.makeWorker();
    const fromEu = worker.journalsOf('eu');
    const fromUs = worker.journalsOf('us');
    if (!fromEu || !fromUs) throw new Error('journals missing');
    await fromEu.ensureGroups();
    await fromUs.ensureGroups();
    const [euStream] = fromEu.streams;
    const [usStream] = fromUs.streams;
    if (!euStream || !usStream) throw new Error('streams missing');
    const ledger = new ResurrectionLedger();

    // The purge first, then the fill, then both again: the copy loses every time.
    const c = await race('/c');
    let lost = await conflicts();
    for (const handOver of [1, 2]) {
      await worker.handle(fromUs, usStream, c.purge);
      ledger.applied('ap', '/c', c.version, Date.now());
      await worker.handle(fromEu, euStream, c.fill);
      await worker.copiesDone();
      expect(await conflicts()).toBe(lost + handOver);
      expect(await ask(ledger, ap, '/c')).toBe('/c v2');
    }
    lost = await conflicts();

    // The fill first: copied, then removed by the purge, and never served again, whatever comes twice.
    const d = await race('/d');
    await worker.handle(fromEu, euStream, d.fill);
    await worker.copiesDone();
    expect(await ask(ledger, ap, '/d')).toBe('/d v1');
    await worker.handle(fromUs, usStream, d.purge);
    ledger.applied('ap', '/d', d.version, Date.now());
    for (let i = 0; i < 3; i++) {
      await worker.handle(fromEu, euStream, d.fill);
      await worker.copiesDone();
      expect(await ask(ledger, ap, '/d')).toBe('/d v2');
      await worker.handle(fromUs, usStream, d.purge);
    }
    expect(await conflicts()).toBeGreaterThan(lost);
    expect(ledger.resurrections()).toEqual([]);
  });
});
