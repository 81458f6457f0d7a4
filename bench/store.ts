/**
 * `npm run bench -- store`: the store's write path alone, against a real redis-server. Writes
 * STORE_OBJECTS (default 20,000) objects shaped like a 1 KiB text miss — identity, gzip and Brotli
 * representations of one response, each a full entry — with STORE_CONCURRENCY (default 64) writes
 * in flight, and prints what Redis spent on them (INFO commandstats: the usec of every command,
 * scripts included, divided by the objects stored) beside the objects stored per second. The
 * objects go into a service already holding its cap, so every write also evicts, as on a full edge.
 * It also prints the memory Redis holds per stored object (INFO memory, over the cap's fill): the
 * figure docs/scaling.md sizes Redis nodes with.
 */
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { connectRedis } from '../src/redis/connect.js';
import { startLocalRedis } from '../src/redis/local-server.js';
import { openRedisStore } from '../src/store/open-redis-store.js';
import type { CachedEntry, EntryWrite } from '../src/store/types.js';

const OBJECTS = Number(process.env.STORE_OBJECTS ?? 20_000);
const CONCURRENCY = Number(process.env.STORE_CONCURRENCY ?? 64);
const CAP = Number(process.env.STORE_CAP ?? 10_000);
const SERVICE = 'bench';

const identity = Buffer.from(
  Array.from({ length: 40 }, (_, i) => `<p>line ${i} of a page that compresses well</p>`).join('\n'),
).subarray(0, 1024);
const gzipped = gzipSync(identity);
const brotli = brotliCompressSync(identity);

function entry(now: number, body: Buffer, path: string, coding?: 'gzip' | 'br'): CachedEntry {
  const headers: [string, string][] = [
    ['content-type', 'text/html; charset=utf-8'],
    ['cache-control', 'public, max-age=3600'],
    ['content-length', String(body.length)],
  ];
  if (coding) headers.push(['content-encoding', coding], ['vary', 'Accept-Encoding']);
  return {
    kind: 'entry',
    meta: {
      status: 200,
      headers,
      responseTime: now,
      storedAt: now,
      initialAgeSeconds: 0,
      staleAt: now + 3_600_000,
      deleteAt: now + 3_600_000,
      varyNames: ['accept-encoding'],
      url: `GET http://bench.test${path}`,
      path,
      variant: [['accept-encoding', coding ?? 'identity']],
      ...(coding ? { coding, identityBytes: identity.length } : {}),
    },
    body,
  };
}

function write(i: number, now: number): EntryWrite {
  const path = `/page/${i}`;
  // A URL that varies on nothing but the edge's own Accept-Encoding: its object's id is the URL's.
  const object = `o${i.toString(16).padStart(15, '0')}`;
  return {
    service: SERVICE,
    primaryKey: object,
    object,
    varyNames: ['accept-encoding'],
    representations: [
      { key: `${object}i`, entry: entry(now, identity, path) },
      { key: `${object}g`, entry: entry(now, gzipped, path, 'gzip') },
      { key: `${object}b`, entry: entry(now, brotli, path, 'br') },
    ],
    maxObjects: CAP,
    lfuHalfLifeMs: 3_600_000,
  };
}

/** The CPU seconds redis-server has used (user + system): its whole cost, networking included. */
async function redisCpu(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}

/** Bytes Redis holds for data (INFO memory used_memory), after a moment for lazy frees. */
async function usedMemory(client: Redis): Promise<number> {
  const info = await client.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

/** Redis's own time (µs) and calls, by command, since the last CONFIG RESETSTAT. */
async function commandStats(client: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const match of (await client.info('commandstats')).matchAll(/cmdstat_([^:]+):calls=(\d+),usec=(\d+)/g)) {
    stats.set(match[1] as string, { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return stats;
}

async function run(count: number, first: number, put: (w: EntryWrite, now: number) => Promise<void>) {
  let next = first;
  const end = first + count;
  const worker = async () => {
    while (next < end) {
      const i = next++;
      await put(write(i, Date.now()), Date.now());
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

async function main(): Promise<void> {
  const redis = await startLocalRedis();
  const { store, client, reader } = openRedisStore({
    url: redis.url,
    commandTimeoutMs: 5000,
    readTimeoutMs: 50,
    readTimeoutMaxMs: 1000,
  });
  const admin = new Redis(redis.url);
  try {
    await Promise.all([connectRedis(client), connectRedis(reader)]);
    // Fill the service to its cap first: the measured writes then evict as a full edge's do.
    const memoryBefore = await usedMemory(admin);
    await run(CAP, 0, async (w, now) => void (await store.put(w, now)));
    await store.drain(SERVICE);
    const bytesPerObject = ((await usedMemory(admin)) - memoryBefore) / CAP;
    await admin.config('RESETSTAT');
    const cpuBefore = await redisCpu(admin);
    const started = process.hrtime.bigint();
    await run(OBJECTS, CAP, async (w, now) => void (await store.put(w, now)));
    await store.drain(SERVICE);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = (await redisCpu(admin)) - cpuBefore;
    const stats = await commandStats(admin);
    stats.delete('info');
    stats.delete('config|resetstat');
    const objects = Number(await admin.zcard(`cf:{${SERVICE}}:idx:freq`));
    console.log(
      `\nstore: ${OBJECTS} objects of 3 representations (1 KiB text), ${CONCURRENCY} in flight, cap ${CAP}\n`,
    );
    console.log('command'.padEnd(24), 'calls'.padStart(9), 'usec/call'.padStart(10), 'usec/object'.padStart(12));
    for (const [name, s] of [...stats].sort((a, b) => b[1].usec - a[1].usec)) {
      console.log(
        name.padEnd(24),
        String(s.calls).padStart(9),
        (s.usec / s.calls).toFixed(2).padStart(10),
        (s.usec / OBJECTS).toFixed(2).padStart(12),
      );
    }
    console.log("(a script's usec includes the commands it calls, which are listed too)");
    console.log(`\nRedis CPU per stored object: ${((cpu * 1e6) / OBJECTS).toFixed(1)} µs (target ≤ 30)`);
    console.log(`objects stored per second (one process): ${(OBJECTS / seconds).toFixed(0)}`);
    console.log(`objects indexed after the run: ${objects} (cap ${CAP})`);
    const bodies = identity.length + gzipped.length + brotli.length;
    console.log(
      `Redis memory per stored object: ${bytesPerObject.toFixed(0)} bytes (${bodies} of them the three bodies; ` +
        'the rest keys, metadata, the URL record and the indexes)',
    );
  } finally {
    await Promise.allSettled([client.quit(), reader.quit(), admin.quit()]);
    await redis.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
