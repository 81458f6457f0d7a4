/**
 * Memory that stays where the configuration puts it: under cold and hot traffic (with compressed
 * and uncompressed bodies, a varying URL, uncacheable answers and Redis reads), every bounded
 * structure stays within its budget, and what it reports is what it holds: the L1's count equals
 * the bytes recomputed from its records, and no record keeps a slice of a larger buffer alive
 * (a Redis reply is a slice of the socket's read chunk; a small Buffer one of Node's 8 KiB pool).
 * `npm run bench -- soak` is the ten-minute version against `cachefront serve`.
 */
import { describe, expect } from 'vitest';
import { BoundedMemo } from '../../../src/bounded-memo.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import type { TieredStore } from '../../../src/store/tiered-store.js';
import { startEdge, test } from '../../helpers/fixtures.js';
import { settled } from '../../helpers/wait.js';

describe('bounded memory', () => {
  test('under cold and hot traffic, each structure holds what it counts, within its budget', async ({
    redis,
    origin,
  }) => {
    const page = Buffer.from('<p>a page that compresses</p>\n'.repeat(200));
    origin.handle((req, res) => {
      const url = req.url ?? '/';
      if (url.startsWith('/private')) {
        res.writeHead(200, { 'cache-control': 'private' });
        return void res.end('mine');
      }
      const headers: Record<string, string> = {
        'content-type': url.startsWith('/big') ? 'text/html' : 'text/plain',
        'cache-control': 'max-age=600',
      };
      if (url.startsWith('/lang')) headers.vary = 'Accept-Language';
      res.writeHead(200, headers);
      res.end(url.startsWith('/big') ? page : `small body for ${url}`);
    });
    const edge = await startEdge(redis.url, origin.url, { l1TtlMs: 60_000 });
    const l1 = (edge.store as TieredStore).l1 as MemoryStore;
    try {
      for (let i = 0; i < 1500; i++) {
        const path =
          i % 5 === 0
            ? `/big/${i % 40}`
            : i % 5 === 1
              ? `/lang/${i % 30}`
              : i % 5 === 2
                ? `/private/${i}`
                : `/cold/${i}`;
        await edge.get(path, {
          headers: { 'accept-encoding': i % 2 ? 'gzip, deflate, br' : 'gzip', 'accept-language': `l${i % 3}` },
        });
      }
      await settled(edge);
      // Reads from Redis fill the L1 of a second node: Redis replies are slices of socket chunks.
      const other = await startEdge(redis.url, origin.url, { serviceId: edge.service, l1TtlMs: 60_000 });
      try {
        // The eight /big pages stored above, each in two codings: sixteen hits, each a Redis read the
        // L1 admits (it admits what is read, not what is stored).
        for (let i = 0; i < 40; i += 5) {
          for (const coding of ['gzip, br', 'gzip']) {
            const hit = await other.get(`/big/${i}`, { headers: { 'accept-encoding': coding } });
            expect(hit.headers['x-cache-status']).toBe('Hit');
          }
        }
        const otherL1 = (other.store as TieredStore).l1 as MemoryStore;
        const read = otherL1.audit();
        expect(read.slices).toBe(0);
        expect(read.counted).toBe(read.recomputed);
        expect(otherL1.size).toBeGreaterThanOrEqual(16);
      } finally {
        await other.close();
      }

      const audit = l1.audit();
      expect(audit.slices).toBe(0);
      expect(audit.counted).toBe(audit.recomputed);
      expect(audit.counted).toBeLessThanOrEqual(l1.maxBytes);
      expect(l1.size).toBeGreaterThan(0);
      for (const [name, memo] of Object.entries(edge.app.background.memos())) {
        expect(memo.bytes, name).toBeLessThanOrEqual(memo.max);
        expect(memo.bytes, name).toBeGreaterThan(0);
      }
    } finally {
      await edge.close();
    }
  });

  test('an L1 over its budget evicts down to it, and counts what it keeps', async () => {
    const l1 = new MemoryStore({ maxBytes: 64 * 1024, maxTtlMs: 60_000 });
    const now = Date.now();
    for (let i = 0; i < 200; i++) {
      const body = Buffer.alloc(1000 + i, i);
      l1.remember(
        's',
        `k${i}`,
        {
          kind: 'entry',
          meta: {
            status: 200,
            headers: [['content-type', 'text/plain']],
            responseTime: now,
            storedAt: now,
            initialAgeSeconds: 0,
            staleAt: now + 60_000,
            deleteAt: now + 60_000,
            varyNames: [],
            url: `GET http://x/k${i}`,
          },
          body: body.subarray(1, 999), // a slice: it must be copied out before being kept
        },
        now,
      );
    }
    const audit = l1.audit();
    expect(audit.counted).toBeLessThanOrEqual(64 * 1024);
    expect(audit.counted).toBe(audit.recomputed);
    expect(audit.slices).toBe(0);
    expect(l1.size).toBeLessThan(200);
  });

  test('a memo never holds more than its budget, however large the keys', () => {
    const memo = new BoundedMemo<string>(10_000, (v) => 2 * v.length);
    for (let i = 0; i < 1000; i++) memo.set(`${'k'.repeat(i % 300)}-${i}`, 'v'.repeat(i % 50));
    const { counted, recomputed } = memo.audit();
    expect(counted).toBe(recomputed);
    expect(counted).toBeLessThanOrEqual(10_000);
    memo.set('x'.repeat(20_000), 'too large for the whole budget');
    expect(memo.get('x'.repeat(20_000))).toBeUndefined();
  });
});
