import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FanOut } from '../../../src/pipeline/fan-out.js';

const KIB = Buffer.alloc(1024, 0x61);

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Resolves once `condition` holds, checked on every turn of the event loop (a deadline fails it). */
async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('FanOut: one source, every subscriber at its own pace', () => {
  it('gives every subscriber the whole body, a late one included while the body is kept', async () => {
    const source = new PassThrough();
    let seen = 0;
    const fanOut = FanOut.of(source, 1 << 20, (bytes) => {
      seen += bytes;
    });
    const firstRead = readAll(fanOut.subscribe() as Readable);
    source.write(KIB);
    await until(() => seen === 1024, 'the first chunk to flow');
    const late = fanOut.subscribe() as Readable;
    source.end(KIB);
    const [a, b] = await Promise.all([firstRead, readAll(late)]);
    expect(a.length).toBe(2048);
    expect(b.equals(a)).toBe(true);
  });

  it('past the replay limit a late subscriber is refused rather than given half a body', async () => {
    const source = new PassThrough();
    const fanOut = FanOut.of(source, 1500);
    const reader = readAll(fanOut.subscribe() as Readable);
    source.write(KIB);
    source.write(KIB);
    await until(() => !fanOut.replayable, 'the body to outgrow the limit');
    expect(fanOut.subscribe()).toBeUndefined();
    source.end();
    expect((await reader).length).toBe(2048);
  });

  it('pauses the source while a subscriber is full, and resumes it once that one drains', async () => {
    const source = new PassThrough({ highWaterMark: 1024 });
    const fanOut = FanOut.of(source, 0);
    const slow = fanOut.subscribe() as Readable;
    const fast = readAll(fanOut.subscribe() as Readable);
    for (let i = 0; i < 64; i++) source.write(KIB);
    await until(() => source.isPaused(), 'the source to pause for the slow subscriber');
    // The slow one has taken only what fits its buffer, not the 64 KiB written.
    expect(slow.readableLength).toBeLessThan(64 * 1024);
    source.end();
    const slowAll = await readAll(slow);
    expect(slowAll.length).toBe(64 * 1024);
    expect((await fast).length).toBe(64 * 1024);
  });

  it('destroys the source when the last subscriber leaves before the end and nobody can join', async () => {
    const source = new PassThrough();
    const fanOut = FanOut.of(source, 0);
    const only = fanOut.subscribe() as Readable;
    source.write(KIB);
    only.destroy();
    await until(() => source.destroyed, 'the source to be destroyed');
  });

  it('keeps reading while the body may still be joined, even with no subscriber left', async () => {
    const source = new PassThrough();
    const fanOut = FanOut.of(source, 1 << 20);
    const leaving = fanOut.subscribe() as Readable;
    leaving.destroy();
    source.end(KIB);
    await once(source, 'end');
    expect(source.destroyed || source.readableEnded).toBe(true);
    expect((await readAll(fanOut.subscribe() as Readable)).length).toBe(1024);
  });

  it('an unread source is stopped when its owner says nobody else will come', async () => {
    const source = new PassThrough();
    const fanOut = FanOut.of(source, 0);
    fanOut.closeIfUnread();
    await until(() => source.destroyed, 'the source to be destroyed');
  });

  it('a source error reaches every subscriber, and nobody joins a failed body', async () => {
    const source = new PassThrough();
    const fanOut = FanOut.of(source, 1 << 20);
    const a = readAll(fanOut.subscribe() as Readable);
    const b = readAll(fanOut.subscribe() as Readable);
    source.write(KIB);
    source.destroy(new Error('origin reset'));
    await expect(a).rejects.toThrow('origin reset');
    await expect(b).rejects.toThrow('origin reset');
    expect(fanOut.subscribe()).toBeUndefined();
  });

  it('a whole body (a 304-refreshed entry) is given to any number of subscribers', async () => {
    const fanOut = FanOut.whole(KIB);
    const bodies = await Promise.all([
      readAll(fanOut.subscribe() as Readable),
      readAll(fanOut.subscribe() as Readable),
    ]);
    expect(bodies.map((b) => b.length)).toEqual([1024, 1024]);
  });
});
