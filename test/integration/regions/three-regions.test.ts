/**
 * Three regions, each its own redis-server, edge, admin listener and sync worker, in front of one
 * origin. A purge made in any region is applied in the others, with a receipt per region; from
 * the moment a region has applied a purge, it never serves what the purge removed (a
 * "resurrection": each test counts them and expects none).
 */
import { afterEach, describe, expect } from 'vitest';
import { test } from '../../helpers/fixtures.js';
import type { TestOrigin } from '../../helpers/origin.js';
import { startRegions, type TestRegion, type TestRegions } from '../../helpers/regions.js';
import { waitFor } from '../../helpers/wait.js';

/** An origin whose pages carry a version, raised before each purge (as a deploy would). */
function versionedOrigin(origin: TestOrigin) {
  const versions = new Map<string, number>();
  origin.handle((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600' });
    res.end(`${path} v${versions.get(path) ?? 1}`);
  });
  return {
    bump(path: string): number {
      const next = (versions.get(path) ?? 1) + 1;
      versions.set(path, next);
      return next;
    },
  };
}

/**
 * Watches for resurrections: a region answering with a version older than one a purge it had
 * already applied was meant to retire.
 */
class ResurrectionCheck {
  /** Per region and path: the newest version a purge applied there retired everything below. */
  private readonly floor = new Map<string, number>();
  readonly seen: string[] = [];

  applied(region: string, path: string, version: number): void {
    const key = `${region} ${path}`;
    this.floor.set(key, Math.max(this.floor.get(key) ?? 0, version));
  }

  /** A response from `region`, to a request sent after everything `applied` so far. */
  answered(region: string, path: string, text: string, floorAtRequest: number): void {
    const version = Number(/ v(\d+)$/.exec(text)?.[1]);
    if (version < floorAtRequest)
      this.seen.push(`${region} served ${path} v${version} after v${floorAtRequest}'s purge`);
  }

  floorOf(region: string, path: string): number {
    return this.floor.get(`${region} ${path}`) ?? 0;
  }
}

let running: TestRegions | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function receiptOf(region: TestRegion, receipt: string) {
  return (await region.admin.call('GET', `/v1/services/${region.edge.service}/purges/${receipt}`)).json as {
    complete: boolean;
    regions: Record<string, string | null>;
  };
}

describe('three regions', () => {
  test('a purge made in one region is applied in every other, with a receipt from each', async ({ origin }) => {
    const pages = versionedOrigin(origin);
    running = await startRegions(['eu', 'us', 'ap'], origin.url);
    const [eu, us, ap] = running.regions as [TestRegion, TestRegion, TestRegion];
    const check = new ResurrectionCheck();
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
    for (const region of running.regions) check.applied(region.id, '/a', version);
    for (const region of [eu, us, ap]) {
      const floor = check.floorOf(region.id, '/a');
      const answer = await region.edge.get('/a');
      check.answered(region.id, '/a', answer.text, floor);
      expect(answer.text).toBe('/a v2');
    }
    expect(check.seen).toEqual([]);
    // Every peer has read eu's journal past the purge: the sync workers trim it.
    await waitFor(
      async () => (await eu.edge.redis.xlen(`cf:{${running?.service}}:journal`)) <= 1,
      'the journal trimmed',
    );
  });
});
