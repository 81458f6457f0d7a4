/**
 * `npm run bench -- replay`: browser-like traffic (bench/replay-traffic.ts; REPLAY_REQUESTS
 * requests, default 20,000, from REPLAY_VISITORS visitors over REPLAY_RESOURCES resources) replayed
 * through the edge with compression on and off, and with the request-cookie rule on (the default)
 * and off; prints each hit ratio, the origin requests, and compression off / on.
 */
import { startLocalRedis } from '../src/redis/local-server.js';
import { runReplay } from './replay-run.js';
import { makeReplay } from './replay-traffic.js';

const REQUESTS = Number(process.env.REPLAY_REQUESTS ?? 20_000);
const VISITORS = Number(process.env.REPLAY_VISITORS ?? 2_000);
const RESOURCES = Number(process.env.REPLAY_RESOURCES ?? 2_000);
const SEED = Number(process.env.REPLAY_SEED ?? 1);

async function main(): Promise<void> {
  const redis = await startLocalRedis();
  try {
    const replay = makeReplay(SEED, RESOURCES, REQUESTS, VISITORS);
    console.log(`\n${REQUESTS} requests, ${VISITORS} visitors, ${RESOURCES} resources (seed ${SEED})\n`);
    const results: Record<string, number> = {};
    for (const [name, service] of [
      ['compression on', {}],
      ['compression off', { transform: { compress: { enabled: false } } }],
      ['compression on, requestCookies: always', { cache: { requestCookies: 'always' } }],
      [
        'compression off, requestCookies: always',
        { transform: { compress: { enabled: false } }, cache: { requestCookies: 'always' } },
      ],
    ] as const) {
      const result = await runReplay(replay, redis.url, service);
      results[name] = result.hitRatio;
      console.log(
        `${name.padEnd(42)} hit ratio ${result.hitRatio.toFixed(4)}   hits ${result.hits}   origin requests ${result.originRequests}`,
      );
    }
    const off = (results['compression off'] ?? 0) / (results['compression on'] ?? 1);
    console.log(`\ncompression off / on: ${off.toFixed(3)}`);
    const cookies = (results['compression on'] ?? 0) / (results['compression on, requestCookies: always'] ?? 1);
    console.log(`request-cookie rule (when-varied / always), compression on: ${cookies.toFixed(3)}`);
  } finally {
    await redis.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
