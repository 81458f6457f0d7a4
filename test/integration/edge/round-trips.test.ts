import type { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { startEdge, test } from '../../helpers/fixtures.js';
import { settled, waitFor } from '../../helpers/wait.js';

/** Records every command the test's redis-server receives that touches one service's keys. */
async function watchCommands(client: Redis, service: string) {
  const seen: string[][] = [];
  const markersSeen = new Set<string>();
  let markers = 0;
  const monitor = await client.monitor();
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args[0]?.toLowerCase() === 'echo' && args[1]?.startsWith('settle-')) markersSeen.add(args[1]);
    else if (args.some((a) => a.includes(`{${service}}`))) seen.push(args);
  });
  return {
    seen,
    /**
     * MONITOR output arrives asynchronously, but in order: once a marker command sent now shows up
     * in it, everything Redis ran before it has too.
     */
    settle: async () => {
      const marker = `settle-${++markers}`;
      await client.echo(marker);
      await waitFor(() => markersSeen.has(marker), 'the monitor to catch up');
    },
    stop: () => monitor.disconnect(),
  };
}

// Hits are added to the LFU frequencies once per flush interval, in the background: long here, so
// a flush never falls inside the window a test counts the hit path's own commands in.
const QUIET = { hitFlushMs: 600_000 };

describe('Redis round trips', () => {
  test('a hit costs exactly one Redis command (an MGET of the packed entry and the URL’s Vary names)', async ({
    redis,
    origin,
  }) => {
    const edge = await startEdge(redis.url, origin.url, { l1: false, ...QUIET });
    const watcher = await watchCommands(redis.client(), edge.service);
    try {
      await edge.get('/one');
      await settled(edge); // the store's own bookkeeping (indexing) is done, not counted as the hit's
      await watcher.settle();
      // The miss read the entry and the Vary names in one command, not one each.
      // (MONITOR also lists what scripts run: the store's script reads its purge counters with GET.)
      const reads = watcher.seen.filter((args) => {
        const command = args[0]?.toLowerCase();
        return command === 'mget' || (command === 'get' && /:(e|vary):/.test(args[1] ?? ''));
      });
      expect(reads.map((args) => args[0]?.toLowerCase())).toEqual(['mget']);
      watcher.seen.length = 0;
      for (let i = 0; i < 3; i++) {
        const hit = await edge.get('/one');
        expect(hit.headers['x-cache-status']).toBe('Hit');
      }
      await watcher.settle();
      expect(watcher.seen.map((args) => args[0]?.toLowerCase())).toEqual(['mget', 'mget', 'mget']);
    } finally {
      watcher.stop();
      await edge.close();
    }
  });

  test('a hit on a varying URL costs one command once the node knows its Vary names', async ({ redis, origin }) => {
    origin.handle((req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', vary: 'Accept-Language' });
      res.end(`lang ${req.headers['accept-language']}`);
    });
    const edge = await startEdge(redis.url, origin.url, { l1: false, ...QUIET });
    const watcher = await watchCommands(redis.client(), edge.service);
    try {
      await edge.get('/v', { headers: { 'accept-language': 'fr' } });
      await edge.get('/v', { headers: { 'accept-language': 'fr' } });
      await settled(edge);
      await watcher.settle();
      watcher.seen.length = 0;
      const hit = await edge.get('/v', { headers: { 'accept-language': 'fr' } });
      expect(hit.headers['x-cache-status']).toBe('Hit');
      await watcher.settle();
      expect(watcher.seen).toHaveLength(1);
      expect(watcher.seen[0]?.[0]?.toLowerCase()).toBe('mget');
    } finally {
      watcher.stop();
      await edge.close();
    }
  });

  test('with the L1, a repeated hit within its lifetime costs no Redis command at all', async ({ redis, origin }) => {
    const edge = await startEdge(redis.url, origin.url, QUIET);
    const watcher = await watchCommands(redis.client(), edge.service);
    try {
      await edge.get('/l1');
      await edge.get('/l1');
      await settled(edge);
      await watcher.settle();
      watcher.seen.length = 0;
      expect((await edge.get('/l1')).headers['x-cache-status']).toBe('Hit');
      await watcher.settle();
      expect(watcher.seen).toHaveLength(0);
    } finally {
      watcher.stop();
      await edge.close();
    }
  });

  test('the L1 admits what is read, not what is stored: the first hit reads Redis once, the next none', async ({
    redis,
    origin,
  }) => {
    const edge = await startEdge(redis.url, origin.url, QUIET);
    const watcher = await watchCommands(redis.client(), edge.service);
    try {
      await edge.get('/admitted');
      await settled(edge);
      await watcher.settle();
      watcher.seen.length = 0;
      expect((await edge.get('/admitted')).headers['x-cache-status']).toBe('Hit');
      await watcher.settle();
      expect(watcher.seen.map((args) => args[0]?.toLowerCase())).toEqual(['mget']);
      watcher.seen.length = 0;
      expect((await edge.get('/admitted')).headers['x-cache-status']).toBe('Hit');
      await watcher.settle();
      expect(watcher.seen).toHaveLength(0);
    } finally {
      watcher.stop();
      await edge.close();
    }
  });
});
