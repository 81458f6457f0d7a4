/**
 * The request path's read deadline (store/read-deadline.ts) against a real redis-server: a reply
 * that arrived while the event loop was busy still counts; a Redis that stops answering is given up
 * on at the deadline; the deadline follows the latency reads really have, within its bounds.
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ReadDeadline, StoreTimeout } from '../../../src/store/read-deadline.js';
import { test } from '../../helpers/fixtures.js';

/** Keeps the event loop busy, as a saturated worker does, for `ms`. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

describe('the read deadline', () => {
  test('a reply that arrived while the loop was busy past the deadline still counts', async ({ redis }) => {
    const client = new Redis(redis.url);
    try {
      await client.set('deadline:k', 'v');
      const deadline = new ReadDeadline(50, 50);
      const read = deadline.run(client.get('deadline:k'));
      // Redis answers within a millisecond; the loop only gets to read it after 300 ms, by which
      // time the 50 ms timer has long expired. A plain timer would call it a timeout.
      busy(300);
      await expect(read).resolves.toBe('v');
    } finally {
      client.disconnect();
    }
  });

  test('a Redis that does not answer is given up on at the deadline', async ({ redis }) => {
    const client = new Redis(redis.url);
    const admin = new Redis(redis.url);
    try {
      await admin.client('PAUSE', 300, 'ALL');
      const deadline = new ReadDeadline(50, 50);
      const started = performance.now();
      const error = await deadline.run(client.get('deadline:k')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreTimeout);
      expect(performance.now() - started).toBeGreaterThanOrEqual(49);
    } finally {
      client.disconnect();
      admin.disconnect();
    }
  });
});

describe('the deadline adapts to the recent tail, within its bounds', () => {
  const feed = (deadline: ReadDeadline, ms: number, times: number) => {
    for (let i = 0; i < times; i++) deadline.observe(ms);
  };

  it('starts at the floor, covers a slow tail, shrinks again with fast reads, never past the ceiling', () => {
    const deadline = new ReadDeadline(50, 1000);
    expect(deadline.currentMs).toBe(50);
    feed(deadline, 1, 512);
    expect(deadline.currentMs).toBe(50); // fast reads: the floor
    // Bimodal, as behind a slow script: most reads fast, one in twenty 80 ms.
    for (let i = 0; i < 512; i++) deadline.observe(i % 20 === 0 ? 80 : 1);
    expect(deadline.currentMs).toBe(160);
    feed(deadline, 5000, 512);
    expect(deadline.currentMs).toBe(1000);
    feed(deadline, 1, 512);
    expect(deadline.currentMs).toBe(50);
  });
});
