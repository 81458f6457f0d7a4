/**
 * A byte quota that refuses rather than evicts (KissCache's; docs/large-objects.md, "Quotas"): past
 * it a miss is answered 507 or passed through uncached, a clean-up takes the service down to its
 * low-water mark by LFU, and then misses are stored again.
 */
import { afterEach, describe, expect } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { startEdge, type TestEdge, test } from '../../helpers/fixtures.js';
import { settled, waitFor } from '../../helpers/wait.js';

const OBJECT = 100_000;
const QUOTA = 300_000;

let edge: TestEdge;
let fresh = 0;

/** A URL the edge has never seen: a miss. */
const newObject = () => `/object/${++fresh}`;

describe('a byte quota', () => {
  afterEach(async () => {
    await edge?.close();
  });

  test.for(['refuse', 'pass'] as const)(
    'past it (%s) a miss is not stored, a clean-up takes the service to its low-water mark, then misses are stored again',
    async (whenFull, { redis, origin }) => {
      origin.handle((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=600' });
        res.end(Buffer.alloc(OBJECT, 'q'));
      });
      edge = await startEdge(redis.url, origin.url, { service: { cache: { quota: { bytes: QUOTA, whenFull } } } });
      for (let i = 0; i < 4; i++) expect((await edge.get(newObject())).status).toBe(200);
      await settled(edge);
      // The node reads the service's use in the background (at most once a second): soon, a miss is refused.
      let refused: Awaited<ReturnType<TestEdge['get']>> | undefined;
      await waitFor(async () => {
        const answer = await edge.get(newObject());
        if (String(answer.headers['cache-status']).includes('detail=quota-full')) refused = answer;
        return refused !== undefined;
      }, 'a miss past the quota');
      if (whenFull === 'refuse') {
        expect(refused?.status).toBe(507);
        expect(refused?.text).toContain('CF_ERR_QUOTA_FULL');
      } else {
        expect(refused?.status).toBe(200);
        expect(refused?.body.length).toBe(OBJECT);
        expect(refused?.headers['x-cache-status']).toBe('Bypass');
      }
      // The clean-up it started: down to 75% of the quota, least used first.
      await waitFor(
        async () => ((await edge.store.readStats(edge.service)).bytesStored ?? 0) <= 0.75 * QUOTA,
        'the clean-up',
      );
      const stats = await edge.store.readStats(edge.service);
      expect(stats.evictions).toBeGreaterThan(0);
      // Then misses are stored again.
      await waitFor(async () => (await edge.get(newObject())).headers['x-cache-status'] === 'Miss', 'a stored miss');
      await settled(edge); // its store indexed before the edge closes
    },
  );

  test('a quota and a byte cap are one too many: the configuration says so', () => {
    const service = { id: 's', hosts: ['s.test'], origin: { url: 'http://127.0.0.1:1' } };
    expect(() =>
      parseConfig({ services: [{ ...service, cache: { maxBytes: 1000, quota: { bytes: 1000 } } }] }, 't', {}),
    ).toThrow(/quota refuses new objects where maxBytes evicts old ones/);
  });
});
