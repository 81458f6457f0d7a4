/**
 * Three regions under concurrent fill and purge storms, and through their failures: a sync worker
 * stopped for 10 s and started again, and a region's Redis SIGKILLed and started again empty.
 * Every answer is checked against every purge its region had applied before the request was sent
 * (their receipts): no region ever serves what a purge it applied retired — 0 resurrections.
 * The edges run without their L1 here: what is checked is the regions' own guarantee (a node's
 * L1 forgets a purged object when the announcement reaches it, as within one region).
 */
import { afterEach, describe, expect } from 'vitest';
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

const PATHS = Array.from({ length: 8 }, (_, i) => `/s${i}`);

let running: TestRegions | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

interface Purge {
  path: string;
  version: number;
  by: TestRegion;
  receipt: string;
}

/** A deterministic sequence of choices (the same storm every run). */
function choices(seed: number) {
  let state = seed;
  return (n: number) => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    // The high bits: an LCG's low bits repeat with a short period.
    return Math.floor((state / 2_147_483_648) * n);
  };
}

/**
 * `operations` random operations, `parallel` at a time: mostly requests to a random region, some
 * purges (a deploy: the origin's version goes up, then the URL — or a filter selecting it — is
 * purged in a random region).
 */
async function storm(
  regions: readonly TestRegion[],
  pages: ReturnType<typeof versionedOrigin>,
  ledger: ResurrectionLedger,
  purges: Purge[],
  { operations, parallel, seed }: { operations: number; parallel: number; seed: number },
): Promise<void> {
  const pick = choices(seed);
  let left = operations;
  const one = async () => {
    while (left-- > 0) {
      const region = regions[pick(regions.length)] as TestRegion;
      const path = PATHS[pick(PATHS.length)] as string;
      if (pick(10) >= 3) {
        await ask(ledger, region, path);
        continue;
      }
      const version = pages.bump(path);
      const body = pick(2) === 0 ? { url: `http://${region.edge.host}${path}` } : { filter: { prefix: path } };
      const answer = await region.admin.call('POST', `/v1/services/${region.edge.service}/purge`, body);
      if (answer.status !== 200) throw new Error(`purge failed: ${JSON.stringify(answer.json)}`);
      purges.push({ path, version, by: region, receipt: answer.json.receipt as string });
    }
  };
  await Promise.all(Array.from({ length: parallel }, one));
}

/** Waits until every purge is applied in every region, and notes each region's time in the ledger. */
async function settle(purges: readonly Purge[], ledger: ResurrectionLedger, skip = new Set<Purge>()): Promise<void> {
  for (const purge of purges) {
    if (skip.has(purge)) continue;
    const state = await waitFor(
      async () => {
        const now = await receiptOf(purge.by, purge.receipt);
        return now.complete && now;
      },
      `the purge of ${purge.path} (v${purge.version}) to be applied everywhere`,
      { timeoutMs: 30_000, intervalMs: 20 },
    );
    for (const [region, at] of Object.entries(state.regions)) {
      ledger.applied(region, purge.path, purge.version, Date.parse(at ?? ''));
    }
  }
}

/** After everything is applied, every region serves the latest version of every page. */
async function converged(
  regions: readonly TestRegion[],
  pages: ReturnType<typeof versionedOrigin>,
  ledger: ResurrectionLedger,
) {
  for (const region of regions) {
    for (const path of PATHS) expect(await ask(ledger, region, path)).toBe(`${path} v${pages.version(path)}`);
  }
}

describe('three regions, storms and failures', () => {
  test('concurrent fill and purge storms: 0 resurrections', async ({ origin }) => {
    const pages = versionedOrigin(origin, 40);
    running = await startRegions(['eu', 'us', 'ap'], origin.url, { l1: false });
    const ledger = new ResurrectionLedger();
    const purges: Purge[] = [];
    await storm(running.regions, pages, ledger, purges, { operations: 400, parallel: 8, seed: 1 });
    await settle(purges, ledger);
    await converged(running.regions, pages, ledger);
    expect(purges.length).toBeGreaterThan(50);
    expect(ledger.resurrections()).toEqual([]);
  });

  test('a sync worker stopped for 10 s and started again catches up: 0 resurrections', async ({ origin }) => {
    const pages = versionedOrigin(origin, 40);
    running = await startRegions(['eu', 'us', 'ap'], origin.url, { l1: false });
    const [eu, us, ap] = running.regions as [TestRegion, TestRegion, TestRegion];
    const ledger = new ResurrectionLedger();
    const purges: Purge[] = [];
    await storm(running.regions, pages, ledger, purges, { operations: 100, parallel: 4, seed: 2 });
    await us.stopWorker();
    const stoppedAt = Date.now();
    // Ten seconds of traffic and purges everywhere while us applies nothing.
    let round = 3;
    while (Date.now() - stoppedAt < 10_000) {
      await storm(running.regions, pages, ledger, purges, { operations: 40, parallel: 4, seed: round++ });
    }
    // Nothing purged elsewhere during the stop has reached us yet.
    const during = purges.filter((purge) => purge.by !== us && purge.receipt !== undefined).at(-1);
    if (!during) throw new Error('no purge made during the stop');
    expect((await receiptOf(during.by, during.receipt)).regions.us).toBeNull();
    await us.startWorker();
    await settle(purges, ledger);
    await converged([eu, us, ap], pages, ledger);
    expect(ledger.resurrections()).toEqual([]);
  });

  test('a region whose Redis is SIGKILLed and comes back empty: 0 resurrections', async ({ origin }) => {
    const pages = versionedOrigin(origin, 40);
    running = await startRegions(['eu', 'us', 'ap'], origin.url, { l1: false });
    const [eu, us, ap] = running.regions as [TestRegion, TestRegion, TestRegion];
    const ledger = new ResurrectionLedger();
    const purges: Purge[] = [];
    await storm(running.regions, pages, ledger, purges, { operations: 150, parallel: 6, seed: 7 });
    await settle(purges, ledger);
    await ap.restartRedisEmpty();
    // ap's own receipts went with its Redis: its earlier purges are settled above already.
    const lost = new Set(purges);
    // ap's edge and worker reconnect by themselves; traffic and purges go on meanwhile.
    await storm(running.regions, pages, ledger, purges, { operations: 200, parallel: 6, seed: 8 });
    await settle(purges, ledger, lost);
    await converged([eu, us, ap], pages, ledger);
    expect(ledger.resurrections()).toEqual([]);
  });
});
