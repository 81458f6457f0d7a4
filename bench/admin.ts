/**
 * `npm run bench -- admin`: the admin API at the size the issue names. Seeds one service with
 * BENCH_ENTRIES entries (default 50,000, the default object cap) through the store's own write
 * path, then times filtered pages of 100 through the admin listener, and purges of thousands and
 * of every entry. Redis's SLOWLOG (threshold 0) gives the longest single Redis call of each phase
 * as Redis itself timed it, so "never blocks Redis for long" is a number, not a claim.
 */
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { Redis } from 'ioredis';
import { buildAdmin } from '../src/admin/server.js';
import { parseConfig } from '../src/config/load.js';
import { startLocalRedis } from '../src/redis/local-server.js';
import { RedisStore } from '../src/store/redis-store.js';
import { singleObject } from '../src/store/single-object.js';
import type { CachedEntry } from '../src/store/types.js';

const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 50_000);
const SERVICE = 'bench';
const TOKEN = 'bench-operator-token-0123456789';
const HALF_LIFE = 86_400_000;

/** A deterministic catalogue: types, sizes, tags and statuses spread the way a site's are. */
function entryFor(i: number, now: number): { path: string; entry: CachedEntry } {
  const kind = i % 10;
  const [type, path] =
    kind < 6
      ? ['text/html; charset=utf-8', `/p/${i % 500}/item-${i}.html`]
      : kind < 8
        ? ['image/png', `/img/${i % 100}/${i}.png`]
        : kind < 9
          ? ['image/jpeg', `/img/${i % 100}/${i}.jpg`]
          : ['text/css', `/css/${i}.css`];
  const size = 200 + ((i * 7919) % 3800);
  const tags = [...(i % 100 === 0 ? ['sale'] : []), ...(i % 10 === 3 ? ['product'] : [])];
  const status = i % 1000 === 7 ? 404 : 200;
  return {
    path,
    entry: {
      kind: 'entry',
      meta: {
        status,
        headers: [
          ['content-type', type],
          ['cache-control', 'max-age=86400'],
        ],
        responseTime: now,
        storedAt: now - (ENTRIES - i) * 10,
        initialAgeSeconds: 0,
        staleAt: now + 86_400_000,
        deleteAt: now + 86_400_000,
        varyNames: [],
        url: `GET http://bench.test${path}`,
        path,
        variant: [],
        tags,
      },
      body: Buffer.alloc(size, 'b'),
    },
  };
}

/** The slowest call since the last reset, and the 99th percentile of the script calls. */
async function slowlogMaxMicros(client: Redis): Promise<{ micros: number; command: string; p99: number }> {
  const log = (await client.call('SLOWLOG', 'GET', '-1')) as [number, number, number, string[]][];
  let worst = { micros: 0, command: '' };
  const all: number[] = [];
  for (const [, , micros, args] of log) {
    const command = String(args[0]).toLowerCase();
    // The measuring itself is not the product's load.
    if (['slowlog', 'config', 'memory', 'keys', 'strlen'].includes(command)) continue;
    if (command === 'evalsha' || command === 'eval') all.push(micros);
    if (micros > worst.micros) worst = { micros, command };
  }
  all.sort((a, b) => a - b);
  await client.call('SLOWLOG', 'RESET');
  return { ...worst, p99: all[Math.floor(all.length * 0.99)] ?? 0 };
}

const ms = (n: number) => `${n.toFixed(1).padStart(7)} ms`;

async function main(): Promise<void> {
  const redis = await startLocalRedis();
  const client = new Redis(redis.url);
  const store = new RedisStore(new Redis(redis.url));
  const config = parseConfig(
    {
      admin: { tokens: { operator: [TOKEN] } },
      services: [{ id: SERVICE, hosts: ['bench.test'], origin: { url: 'http://127.0.0.1:9' } }],
    },
    'bench',
    {},
  );
  const admin = buildAdmin({ config, store, storeReady: async () => true, storeKind: 'redis' });
  await admin.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(admin.server.address() as AddressInfo).port}`;
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  try {
    console.log(`\nadmin API over ${ENTRIES.toLocaleString('en')} entries of one service, ${cpus().length} cores\n`);
    // Every command from here on is logged with its duration.
    await client.config('SET', 'slowlog-log-slower-than', '0');
    await client.config('SET', 'slowlog-max-len', '1000000');
    await client.call('SLOWLOG', 'RESET');
    const now = Date.now();
    let seeded = 0;
    const started = performance.now();
    const worker = async () => {
      while (seeded < ENTRIES) {
        const i = seeded++;
        const { entry } = entryFor(i, now);
        await store.put(
          singleObject({
            service: SERVICE,
            primaryKey: `p${i}`,
            entryKey: `e${i}`,
            entry,
            maxObjects: ENTRIES,
            lfuHalfLifeMs: HALF_LIFE,
          }),
          now,
        );
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    await store.drain(SERVICE);
    const seedSeconds = (performance.now() - started) / 1000;
    // What the indexes cost: every index key of the service, exactly (SAMPLES 0), per entry.
    let indexBytes = 0;
    for (const key of await client.keys(`cf:{${SERVICE}}:idx:*`)) {
      indexBytes += Number(await client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
    }
    let recordBytes = 0;
    let valueBytes = 0;
    for (let i = 0; i < 100; i++) {
      const key = `cf:{${SERVICE}}:e:e${i * Math.floor(ENTRIES / 100)}`;
      recordBytes += Number(await client.call('MEMORY', 'USAGE', key));
      valueBytes += entryFor(i * Math.floor(ENTRIES / 100), now).entry.body.length;
    }
    console.log(
      `seeded through the store's write path: ${seedSeconds.toFixed(1)} s (${(ENTRIES / seedSeconds).toFixed(0)} stores/s); ` +
        `indexes ${(indexBytes / ENTRIES).toFixed(0)} bytes per entry; each record ${((recordBytes - valueBytes) / 100).toFixed(0)} ` +
        'bytes besides its body (metadata JSON, key, Redis overhead)',
    );
    console.log(
      `slowest single Redis call while seeding: ${((await slowlogMaxMicros(client)).micros / 1000).toFixed(2)} ms`,
    );

    console.log(
      '\nfiltered page of 100 (admin HTTP API, median / p95 / max of 21 requests; matches; index members scanned)',
    );
    const queries: [string, string][] = [
      ['no filter', ''],
      ['type=image/png (scan)', 'type=image/png'],
      ['type=image/* (two types, scan)', 'type=image/*'],
      ['tag=sale (1 %)', 'tag=sale'],
      ['prefix=/img/4', 'prefix=/img/4'],
      ['size 1000..1100 B', 'minSize=1000&maxSize=1100'],
      ['glob /p/*/item-4?.html', 'glob=/p/*/item-4?.html'],
      ['status=404 (0.1 %, scan)', 'status=404'],
      ['type=text/css & minSize=3900', 'type=text/css&minSize=3900'],
    ];
    for (const [name, query] of queries) {
      const times: number[] = [];
      let last: Record<string, unknown> = {};
      for (let i = 0; i < 21; i++) {
        const t0 = performance.now();
        last = await api('GET', `/v1/services/${SERVICE}/entries?limit=100&${query}`);
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      const items = (last.items as unknown[]).length;
      console.log(
        `  ${name.padEnd(32)} ${ms(times[10] as number)} ${ms(times[19] as number)} ${ms(times[20] as number)}   ` +
          `${String(items).padStart(3)} items, ${String(last.scanned).padStart(6)} scanned`,
      );
    }
    const listWorst = await slowlogMaxMicros(client);
    console.log(
      `  Redis calls while listing: script p99 ${(listWorst.p99 / 1000).toFixed(2)} ms, slowest ${(listWorst.micros / 1000).toFixed(2)} ms (${listWorst.command})`,
    );

    console.log('\npurges (admin HTTP API; batches of 100; slowest single Redis call from SLOWLOG)');
    const purge = async (name: string, body: Record<string, unknown>) => {
      const t0 = performance.now();
      const result = await api('POST', `/v1/services/${SERVICE}/purge`, body);
      const seconds = (performance.now() - t0) / 1000;
      const worst = await slowlogMaxMicros(client);
      console.log(
        `  ${name.padEnd(32)} ${String(result.purged).padStart(6)} entries in ${seconds.toFixed(2).padStart(5)} s` +
          `  (${String(result.batches).padStart(3)} calls; Redis calls script p99 ${(worst.p99 / 1000).toFixed(2)} ms, ` +
          `slowest ${(worst.micros / 1000).toFixed(2)} ms ${worst.command})`,
      );
    };
    await purge('dry run, everything', { all: true, dryRun: true });
    await purge('tag=product', { filter: { tag: 'product' } });
    await purge('soft, everything left', { all: true, soft: true });
    await purge('everything left', { all: true });
    const left = await api('GET', `/v1/services/${SERVICE}/stats`);
    console.log(`  entries left: ${left.entries}, bytes stored: ${left.bytesStored}`);
  } finally {
    await admin.close();
    await store.close();
    client.disconnect();
    await redis.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
