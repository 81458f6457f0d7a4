/**
 * `cachefront purge --wait`, as an operator runs it against two regions: it returns once every
 * region has applied the purge, and, with a region's sync worker stopped, gives up at its timeout
 * naming the region still missing.
 */
import { afterEach, describe, expect } from 'vitest';
import { OPERATOR_TOKEN } from '../../helpers/admin.js';
import { runCli } from '../../helpers/cli.js';
import { test } from '../../helpers/fixtures.js';
import { startRegions, type TestRegion, type TestRegions, versionedOrigin } from '../../helpers/regions.js';

let running: TestRegions | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe('cachefront purge --wait', () => {
  test('waits until every region has applied the purge, or says which has not', async ({ origin }) => {
    versionedOrigin(origin);
    running = await startRegions(['eu', 'us'], origin.url);
    const [eu, us] = running.regions as [TestRegion, TestRegion];
    const env = { CACHEFRONT_ADMIN_URL: eu.admin.url, CACHEFRONT_ADMIN_TOKEN: OPERATOR_TOKEN };
    await eu.edge.get('/w');
    const url = `http://${eu.edge.host}/w`;

    const waited = await runCli(['purge', '--url', url, '--wait'], env);
    expect(waited.stderr).toBe('');
    expect(waited.code).toBe(0);
    const [, state] = waited.stdout.split(/\n(?=\{)/).map((part) => JSON.parse(part));
    expect(state.complete).toBe(true);
    expect(Object.keys(state.regions).sort()).toEqual(['eu', 'us']);

    await us.stopWorker();
    const missed = await runCli(['purge', running.service, '--all', '--wait', '--timeout', '300ms'], env);
    expect(missed.code).toBe(1);
    expect(missed.stderr).toContain('not applied in us');
    expect((await runCli(['purge', '--url', url, '--timeout', '1s'], env)).code).toBe(2);
  });
});
