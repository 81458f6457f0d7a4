/**
 * Large objects stored in chunks (docs/large-objects.md): a body past `cache.chunks.aboveBytes` is
 * written chunk by chunk as it streams, served whole from its chunks, a range reads only the
 * chunks it covers (counted in the bytes Redis sends), HEAD reads none, and a purge takes the
 * chunks with the object.
 */
import type { Redis } from 'ioredis';
import { afterEach, describe, expect } from 'vitest';
import { newServiceId, startEdge, type TestEdge, test } from '../../helpers/fixtures.js';
import type { TestOrigin } from '../../helpers/origin.js';
import { gate, settled, waitFor } from '../../helpers/wait.js';

const CHUNK = 256 * 1024;
const SIZE = 3 * 1024 * 1024 + 12_345;

/** Deterministic bytes whose every offset is checkable: byte i is (i * 7 + (i >> 16)) & 255. */
function bodyOf(size: number): Buffer {
  const body = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) body[i] = (i * 7 + (i >> 16)) & 255;
  return body;
}

/** Bytes Redis has sent its clients so far. */
async function redisBytesOut(redis: Redis): Promise<number> {
  const info = await redis.info('stats');
  return Number(/total_net_output_bytes:(\d+)/.exec(info)?.[1]);
}

let edge: TestEdge;

/** The origin answers every request with `body`, cacheable, in pieces as a large download arrives. */
function serve(origin: TestOrigin, body: Buffer): void {
  origin.handle((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=600' });
    for (let at = 0; at < body.length; at += 100_000) res.write(body.subarray(at, at + 100_000));
    res.end();
  });
}

/**
 * The origin answers with `body` (its length announced), sends its first `first` bytes at once and
 * the rest, in pieces, only once `rest` is opened: a large download still on its way.
 */
function serveHeldBack(origin: TestOrigin, body: Buffer, first: number, rest: { opened: Promise<void> }): void {
  origin.handle(async (_req, res) => {
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'cache-control': 'max-age=600',
      'content-length': String(body.length),
    });
    res.write(body.subarray(0, first));
    await rest.opened;
    for (let at = first; at < body.length; at += 100_000)
      res.write(body.subarray(at, Math.min(at + 100_000, body.length)));
    res.end();
  });
}

/** An edge chunking bodies past 1 MiB into CHUNK-sized chunks. */
const chunkingEdge = (redisUrl: string, originUrl: string, cache: Record<string, unknown> = {}) =>
  startEdge(redisUrl, originUrl, {
    service: { cache: { chunks: { aboveBytes: 1024 * 1024, chunkBytes: CHUNK }, ...cache } },
  });

describe('a large object in chunks', () => {
  afterEach(async () => {
    await edge?.close();
  });

  test('stored as it streams, served whole, ranges read only their chunks, purged with its chunks', async ({
    redis,
    origin,
  }) => {
    const body = bodyOf(SIZE);
    serve(origin, body);
    edge = await chunkingEdge(redis.url, origin.url);
    const miss = await edge.get('/artefact.bin');
    expect(miss.headers['x-cache-status']).toBe('Miss');
    expect(miss.body.equals(body)).toBe(true);
    await settled(edge);

    const client = redis.client();
    try {
      const chunkKeys = await client.keys(`cf:{${edge.service}}:ch:*`);
      expect(chunkKeys).toHaveLength(Math.ceil(SIZE / CHUNK));

      const hit = await edge.get('/artefact.bin');
      expect(hit.headers['x-cache-status']).toBe('Hit');
      expect(hit.headers['content-length']).toBe(String(SIZE));
      expect(hit.body.equals(body)).toBe(true);

      // A range in the middle: two chunks read, not thirteen.
      const before = await redisBytesOut(client);
      const range = await edge.get('/artefact.bin', { headers: { range: 'bytes=1000000-1100000' } });
      const sent = (await redisBytesOut(client)) - before;
      expect(range.status).toBe(206);
      expect(range.headers['content-range']).toBe(`bytes 1000000-1100000/${SIZE}`);
      expect(range.body.equals(body.subarray(1_000_000, 1_100_001))).toBe(true);
      expect(sent).toBeGreaterThan(2 * CHUNK - 1);
      expect(sent).toBeLessThan(3 * CHUNK);

      // HEAD reads no chunk at all.
      const headBefore = await redisBytesOut(client);
      const head = await edge.get('/artefact.bin', { method: 'HEAD' });
      expect(head.headers['content-length']).toBe(String(SIZE));
      expect((await redisBytesOut(client)) - headBefore).toBeLessThan(CHUNK);

      // The last bytes, across the short last chunk.
      const tail = await edge.get('/artefact.bin', { headers: { range: 'bytes=-5000' } });
      expect(tail.body.equals(body.subarray(SIZE - 5000))).toBe(true);

      expect(origin.requestsFor('/artefact.bin')).toHaveLength(1);
      const stats = await edge.store.readStats(edge.service);
      expect(stats).toMatchObject({ entries: 1, bytesStored: SIZE });

      const primary = (await client.keys(`cf:{${edge.service}}:vary:*`))[0]?.split(':vary:')[1] as string;
      await edge.store.invalidate(edge.service, primary);
      expect(await client.keys(`cf:{${edge.service}}:ch:*`)).toHaveLength(0);
    } finally {
      client.disconnect();
    }
  });

  test('a request joining a large fill after its first bytes follows its chunks: one origin fetch', async ({
    redis,
    origin,
  }) => {
    const body = bodyOf(SIZE);
    const rest = gate();
    serveHeldBack(origin, body, 1_500_000, rest);
    edge = await chunkingEdge(redis.url, origin.url);
    const client = redis.client();
    try {
      const first = edge.get('/joined.bin');
      // The fill is past what it keeps for late joiners: its first chunks are in Redis.
      await waitFor(async () => (await client.keys(`cf:{${edge.service}}:ch:*`)).length >= 4, 'chunks written');
      const gets = async () => Number(/cmdstat_get:calls=(\d+)/.exec(await client.info('commandstats'))?.[1] ?? 0);
      const before = await gets();
      const late = edge.get('/joined.bin');
      // It reads the chunks already written (GETs), while the origin still holds back the rest.
      await waitFor(async () => (await gets()) > before, 'the late request to follow the chunks');
      rest.open();
      const [a, b] = await Promise.all([first, late]);
      expect(a.body.equals(body)).toBe(true);
      expect(b.body.equals(body)).toBe(true);
      expect(String(b.headers['cache-status'])).toContain('collapsed');
      expect(origin.requestsFor('/joined.bin')).toHaveLength(1);
      await settled(edge); // stored and indexed before the edge closes
    } finally {
      client.disconnect();
    }
  });

  test('a range on a miss is answered as soon as its bytes are in, while the rest is still on its way', async ({
    redis,
    origin,
  }) => {
    const body = bodyOf(SIZE);
    const rest = gate();
    serveHeldBack(origin, body, 500_000, rest);
    edge = await chunkingEdge(redis.url, origin.url);
    // The origin holds back all but its first 500,000 bytes until the range is answered.
    const range = await edge.get('/ranged.bin', { headers: { range: 'bytes=200000-299999' } });
    expect(range.status).toBe(206);
    expect(range.headers['content-range']).toBe(`bytes 200000-299999/${SIZE}`);
    expect(range.body.equals(body.subarray(200_000, 300_000))).toBe(true);
    rest.open();
    await settled(edge);
    // The fill went on without the client: the whole object is stored, in chunks.
    const whole = await edge.get('/ranged.bin');
    expect(whole.headers['x-cache-status']).toBe('Hit');
    expect(whole.body.equals(body)).toBe(true);
    expect(origin.requestsFor('/ranged.bin')).toHaveLength(1);
  });

  test('another node waiting for a large fill reads its chunks, not a second copy through Redis: one origin fetch', async ({
    redis,
    origin,
  }) => {
    const body = bodyOf(SIZE);
    const rest = gate();
    serveHeldBack(origin, body, 1_500_000, rest);
    const serviceId = newServiceId();
    const setup = { serviceId, service: { cache: { chunks: { aboveBytes: 1024 * 1024, chunkBytes: CHUNK } } } };
    const nodes = [await startEdge(redis.url, origin.url, setup), await startEdge(redis.url, origin.url, setup)];
    const [a, b] = nodes as [TestEdge, TestEdge];
    const client = redis.client();
    try {
      const fromA = a.get('/fleet.bin');
      const fromB = b.get('/fleet.bin');
      // The holder is past its first chunks; the other node reads them as they land.
      await waitFor(async () => (await client.keys(`cf:{${serviceId}}:ch:*`)).length >= 4, 'chunks written');
      const flightKey = (await waitFor(async () => (await client.keys(`cf:{${serviceId}}:flight:*`))[0], 'a relay'))!;
      await waitFor(async () => {
        const entries = await client.xrange(flightKey, '-', '+');
        return entries.some(([, fields]) => fields[0] === 'k');
      }, 'the relay to switch to the chunks');
      // A request joining on the waiting node now follows the chunks from the first byte.
      const late = b.get('/fleet.bin');
      rest.open();
      const answers = await Promise.all([fromA, fromB, late]);
      for (const answer of answers) expect(answer.body.equals(body)).toBe(true);
      expect(origin.requestsFor('/fleet.bin')).toHaveLength(1);
      expect(answers.filter((x) => String(x.headers['cache-status']).includes('detail=fleet'))).not.toHaveLength(0);
      // What went through the relay: the bytes before the first chunks landed, then chunk counts.
      const relayed = await client.xrangeBuffer(flightKey, '-', '+');
      const bytes = relayed
        .filter(([, fields]) => fields[0]?.toString() === 'c')
        .reduce((n, [, fields]) => n + (fields[1]?.length ?? 0), 0);
      expect(bytes).toBeLessThan(1_500_000 + 100_000);
      const counts = relayed.filter(([, fields]) => fields[0]?.toString() === 'k');
      expect(counts.length).toBeGreaterThan(1);
      expect(relayed.at(-1)?.[1][0]?.toString()).toBe('e');
      await Promise.all(nodes.map((node) => settled(node)));
    } finally {
      client.disconnect();
      await Promise.all(nodes.map((node) => node.close()));
    }
  });

  test('a chunk gone from Redis: at the start, a miss that refetches; midway, a cut response and the object removed', async ({
    redis,
    origin,
  }) => {
    const body = bodyOf(SIZE);
    serve(origin, body);
    edge = await chunkingEdge(redis.url, origin.url);
    const client = redis.client();
    const chunkKey = async (index: number) =>
      (await client.keys(`cf:{${edge.service}}:ch:*`)).find((key) => key.endsWith(`:${index}`)) as string;
    try {
      await edge.get('/evicted.bin');
      await settled(edge);
      // Redis' own maxmemory eviction, as far as the edge can tell.
      await client.del(await chunkKey(0));
      const refetched = await edge.get('/evicted.bin');
      expect(refetched.headers['x-cache-status']).toBe('Miss');
      expect(refetched.body.equals(body)).toBe(true);
      expect(origin.requestsFor('/evicted.bin')).toHaveLength(2);
      await settled(edge);
      expect((await edge.get('/evicted.bin')).headers['x-cache-status']).toBe('Hit');

      await client.del(await chunkKey(5));
      const cut = await edge.get('/evicted.bin').then(
        (answer) => answer.body.length,
        () => -1,
      );
      expect(cut).toBeLessThan(SIZE);
      // Removed as soon as the gap was found: the next request refetches (a cut one meanwhile is retried).
      await waitFor(
        async () => (await edge.get('/evicted.bin').catch(() => undefined))?.headers['x-cache-status'] === 'Miss',
        'a refetch',
      );
      expect(origin.requestsFor('/evicted.bin')).toHaveLength(3);
      await settled(edge);
    } finally {
      client.disconnect();
    }
  });

  test('a body that fails midway leaves no chunks; one past maxObjectBytes is passed on and not kept', async ({
    redis,
    origin,
  }) => {
    origin.handle((req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=600' });
      res.write(Buffer.alloc(1536 * 1024, 'a'));
      if (req.url === '/broken') return void setTimeout(() => res.destroy(), 20);
      res.end(Buffer.alloc(1536 * 1024, 'b'));
    });
    edge = await chunkingEdge(redis.url, origin.url, { maxObjectBytes: 2 * 1024 * 1024 });
    await edge.get('/broken').catch(() => undefined);
    const tooLarge = await edge.get('/too-large');
    expect(tooLarge.body.length).toBe(3 * 1024 * 1024);
    await settled(edge);
    const client = redis.client();
    try {
      expect(await client.keys(`cf:{${edge.service}}:ch:*`)).toHaveLength(0);
      expect((await edge.get('/too-large')).headers['x-cache-status']).not.toBe('Hit');
    } finally {
      client.disconnect();
    }
  });
});
