/**
 * The L1's byte count is what the process really spends on it: filled to its budget with records
 * like the ones the edge keeps (a 1 KiB body, six headers, a URL), the heap and ArrayBuffer bytes
 * it holds are at most a quarter more than it counts. An estimate far below the truth is how a
 * "64 MiB" L1 came to hold twice that.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../src/store/memory-store.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function used(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

describe('the L1 counts what it really holds', () => {
  it('real bytes stay within 25 % above the count when full, and not far below', () => {
    const before = used();
    const l1 = new MemoryStore({ maxBytes: 32 * 1024 * 1024, maxTtlMs: 60_000 });
    const now = Date.now();
    for (let i = 0; i < 20_000; i++) {
      l1.remember(
        'svc',
        `K${i.toString(36).padStart(26, '0')}`,
        {
          kind: 'entry',
          meta: {
            status: 200,
            headers: [
              ['content-type', 'text/html'],
              ['cache-control', `public, max-age=${3600 + i}`],
              ['date', new Date(now + i).toUTCString()],
              ['vary', 'Accept-Encoding'],
              ['content-encoding', 'br'],
              ['etag', `"e${i}-br"`],
            ],
            responseTime: now,
            storedAt: now,
            initialAgeSeconds: 0,
            staleAt: now + 60_000,
            deleteAt: now + 60_000,
            varyNames: ['accept-encoding'],
            url: `GET http://svc.test/page/${i}`,
            path: `/page/${i}`,
            variant: [['accept-encoding', 'br']],
            tags: [],
          },
          body: Buffer.allocUnsafeSlow(1024),
        },
        now,
      );
    }
    const real = used() - before;
    const counted = l1.usedBytes;
    expect(counted).toBeGreaterThan(30 * 1024 * 1024); // it filled up
    expect(real / counted).toBeGreaterThan(0.5); // not so generous that the budget buys little
    expect(real / counted).toBeLessThan(1.25);
  });
});
