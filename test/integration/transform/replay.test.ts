/**
 * Browser-like traffic (bench/replay-traffic.ts: many Accept-Encoding spellings and User-Agents,
 * shuffled query strings, tracking parameters, analytics and session cookies, origins that compress
 * in every way) replayed through the edge with compression on and off: turning compression off must
 * not cost hit ratio, because one origin fetch fills every Accept-Encoding bucket either way.
 * `npm run bench -- replay` runs the same at 20,000 requests.
 */
import { describe, expect } from 'vitest';
import { runReplay } from '../../../bench/replay-run.js';
import { makeReplay } from '../../../bench/replay-traffic.js';
import { test } from '../../helpers/fixtures.js';

describe('replayed browser traffic', () => {
  test('compression off reaches at least 0.97 of the hit ratio compression on reaches', async ({ redis }) => {
    const replay = makeReplay(7, 300, 1500, 300);
    const on = await runReplay(replay, redis.url, {});
    const off = await runReplay(replay, redis.url, { transform: { compress: { enabled: false } } });
    expect(on.hitRatio).toBeGreaterThan(0.6);
    expect(off.hitRatio / on.hitRatio).toBeGreaterThanOrEqual(0.97);
    // Every request was answered, and the origin was asked at most once per resource and bucket
    // it could not share: nothing near one fetch per request.
    expect(off.originRequests).toBeLessThan(replay.requests.length / 3);
  }, 120_000);
});
