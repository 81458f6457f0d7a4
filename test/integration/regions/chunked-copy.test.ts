/**
 * A large object stored in chunks is pre-warmed into the other regions like any fill: its chunks
 * copied from the peer's store, then its record, so the other region answers it (whole and in
 * ranges) as a hit without asking the origin, and a purge there takes the copied chunks with it.
 */
import { afterEach, describe, expect } from 'vitest';
import { test } from '../../helpers/fixtures.js';
import { startRegions, type TestRegion, type TestRegions } from '../../helpers/regions.js';
import { settled, waitFor } from '../../helpers/wait.js';

const SIZE = 3 * 1024 * 1024 + 4321;
const body = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i++) body[i] = (i * 13 + (i >> 12)) & 255;

let running: TestRegions | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe('regions and large objects', () => {
  test('a chunked object fetched in one region is copied to the other, chunks and all', async ({ origin }) => {
    origin.handle((_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'cache-control': 'max-age=600',
        'content-length': String(SIZE),
      });
      res.end(body);
    });
    running = await startRegions(['eu', 'us'], origin.url, {
      service: {
        cache: { maxObjectBytes: 64 * 1024 * 1024, chunks: { aboveBytes: 1024 * 1024, chunkBytes: 256 * 1024 } },
      },
    });
    const [eu, us] = running.regions as [TestRegion, TestRegion];
    const service = running.service;
    const fetched = await eu.edge.get('/artefact.bin');
    expect(fetched.body.equals(body)).toBe(true);
    await settled(eu.edge);
    const chunkKeys = async (region: TestRegion) => (await region.edge.redis.keys(`cf:{${service}}:ch:*`)).length;
    const stored = await chunkKeys(eu);
    expect(stored).toBe(Math.ceil(SIZE / (256 * 1024)));
    // Asked only once the copy is there (its record, after its chunks): asking earlier would fetch it.
    await waitFor(async () => (await us.edge.redis.keys(`cf:{${service}}:e:*`)).length > 0, 'the copy');
    expect(await chunkKeys(us)).toBe(stored);
    const copied = await us.edge.get('/artefact.bin');
    expect(copied.headers['x-cache-status']).toBe('Hit');
    expect(copied.body.equals(body)).toBe(true);
    const range = await us.edge.get('/artefact.bin', { headers: { range: 'bytes=2000000-2000099' } });
    expect(range.status).toBe(206);
    expect(range.body.equals(body.subarray(2_000_000, 2_000_100))).toBe(true);
    expect(origin.requests.filter((r) => r.url === '/artefact.bin')).toHaveLength(1);
    // Purged in the copy's region, it goes with its chunks.
    const purged = await us.admin.call('POST', '/v1/purge', { url: `http://${us.edge.host}/artefact.bin` });
    expect(purged.json.purged).toBe(1);
    await waitFor(async () => (await chunkKeys(us)) === 0, 'the copied chunks purged');
  });
});
