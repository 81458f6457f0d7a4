import { describe, expect, it } from 'vitest';
import { FlightSender } from '../../../src/pipeline/flight-sender.js';
import type { FlightPart } from '../../../src/store/types.js';

const chunk = (text: string): FlightPart => ({ kind: 'chunk', bytes: Buffer.from(text) });
const kinds = (parts: readonly FlightPart[]) => parts.map((p) => (p.kind === 'chunk' ? p.bytes.toString() : p.kind));

/** An append that records each call and answers when told to. */
function recorder(answer: (call: number) => Promise<boolean> = async () => true) {
  const calls: string[][] = [];
  const append = (parts: readonly FlightPart[]) => {
    calls.push(kinds(parts));
    return answer(calls.length);
  };
  return { calls, append };
}

describe('FlightSender', () => {
  it('sends a response that arrives all at once in one append', async () => {
    const { calls, append } = recorder();
    const sender = new FlightSender(append);
    sender.push({ kind: 'head', json: '{}' });
    sender.push(chunk('a'));
    sender.push({ kind: 'end' });
    await sender.flushed();
    expect(calls).toEqual([['head', 'a', 'end']]);
  });

  it('sends what arrives during an append together in the next, in order', async () => {
    let release: (() => void) | undefined;
    const { calls, append } = recorder(
      (call) =>
        new Promise((resolve) => {
          if (call === 1) release = () => resolve(true);
          else resolve(true);
        }),
    );
    const sender = new FlightSender(append);
    sender.push({ kind: 'head', json: '{}' });
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual([['head']]);
    sender.push(chunk('a'));
    sender.push(chunk('b'));
    sender.push({ kind: 'end' });
    release?.();
    await sender.flushed();
    expect(calls).toEqual([['head'], ['a', 'b', 'end']]);
  });

  it('stops when nobody waits for the head', async () => {
    const { calls, append } = recorder(async () => false);
    const sender = new FlightSender(append);
    sender.push({ kind: 'head', json: '{}' });
    await sender.flushed();
    expect(sender.open).toBe(false);
    sender.push(chunk('a'));
    sender.push({ kind: 'end' });
    await sender.flushed();
    expect(calls).toEqual([['head']]);
  });

  it('tells the waiting nodes the response ends when an append fails midway', async () => {
    const { calls, append } = recorder(async (call) => {
      if (call === 2) throw new Error('Redis went away');
      return true;
    });
    const sender = new FlightSender(append);
    sender.push({ kind: 'head', json: '{}' });
    await sender.flushed();
    sender.push(chunk('a'));
    await sender.flushed();
    expect(sender.open).toBe(false);
    expect(calls).toEqual([['head'], ['a'], ['aborted']]);
  });
});
