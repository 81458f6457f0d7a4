/**
 * @module Fleet-wide fills over Redis (pipeline/fleet-fill.ts): the claim and its lease, the flag
 * of nodes waiting, the relay of the holder's response as a stream, and the announced outcome.
 * Every key lives under the service's own hash tag (store/keys.ts, `fillKeys`).
 */
import type { RedisClient } from '../redis/connect.js';
import { FILL_CHANNEL, fillKeys } from './keys.js';
import { timed } from './redis-timing.js';
import { defineScripts, runScript } from './scripts.js';
import type { FillCoordination, FillOutcome, FlightPart } from './types.js';

/** How long a fill's flight stays readable after its last part. */
const FLIGHT_TTL_MS = 60_000;

/** A `k` entry: the chunks the holder has stored so far, `[id, size, written]`. */
function chunksPart(value: Buffer): FlightPart {
  const [id, size, written] = JSON.parse(value.toString()) as [string, number, number];
  return { kind: 'chunks', id, size, written };
}

/** The fill coordination of one Redis (the announcements reach nodes through the purge broadcast). */
export class RedisFills implements Omit<FillCoordination, 'onFillDone'> {
  constructor(private readonly client: RedisClient) {
    defineScripts(client);
  }

  /**
   * Claims an entry's fleet-wide fill (lua/claimFill-2.lua). A node that loses the claim leaves the
   * waiting flag in the same call, so the holder knows to announce; the first to wait says so on the
   * fill channel, so the holder knows to relay.
   */
  async claimFill(service: string, entryHash: string, ttlMs: number): Promise<boolean> {
    const keys = fillKeys(service, entryHash);
    const ttl = Math.max(1, Math.round(ttlMs));
    const waiting = JSON.stringify({ service, entry: entryHash, outcome: 'waiting' });
    return (
      (await timed(
        'lease',
        runScript(this.client, 'claimFill', [keys.lease, keys.waiting], [ttl, FILL_CHANNEL, waiting]),
      )) === 1
    );
  }

  async renewFill(service: string, entryHash: string, ttlMs: number): Promise<boolean> {
    const renewed = await timed('lease', this.client.pexpire(fillKeys(service, entryHash).lease, Math.round(ttlMs)));
    return renewed === 1;
  }

  async fillHeld(service: string, entryHash: string): Promise<boolean> {
    return (await timed('lease', this.client.exists(fillKeys(service, entryHash).lease))) === 1;
  }

  async flightAppend(service: string, entryHash: string, parts: readonly FlightPart[]): Promise<boolean> {
    const fields: (string | Buffer)[] = [];
    for (const part of parts) {
      if (part.kind === 'head') fields.push('h', part.json);
      else if (part.kind === 'chunk') fields.push('c', part.bytes);
      else if (part.kind === 'chunks') fields.push('k', JSON.stringify([part.id, part.size, part.written]));
      else fields.push(part.kind === 'end' ? 'e' : 'x', '');
    }
    const keys = fillKeys(service, entryHash);
    const message = JSON.stringify({ service, entry: entryHash, outcome: 'flight' });
    const appended = await timed(
      'lease',
      runScript(
        this.client,
        'flightAppend',
        [keys.flight, keys.waiting],
        [FLIGHT_TTL_MS, FILL_CHANNEL, message, ...fields],
      ),
    );
    return appended === 1;
  }

  async flightRead(
    service: string,
    entryHash: string,
    after: string | undefined,
  ): Promise<{ id: string; part: FlightPart }[]> {
    const key = fillKeys(service, entryHash).flight;
    const entries = await timed('lease', this.client.xrangeBuffer(key, after === undefined ? '-' : `(${after}`, '+'));
    return entries.map(([id, fields]) => {
      const field = fields[0]?.toString() ?? 'x';
      const value = fields[1] ?? Buffer.alloc(0);
      const part: FlightPart =
        field === 'h'
          ? { kind: 'head', json: value.toString() }
          : field === 'c'
            ? { kind: 'chunk', bytes: value }
            : field === 'k'
              ? chunksPart(value)
              : field === 'e'
                ? { kind: 'end' }
                : { kind: 'aborted' };
      return { id: id.toString(), part };
    });
  }

  async fillDone(service: string, entryHash: string, outcome: FillOutcome): Promise<void> {
    const keys = fillKeys(service, entryHash);
    const message = JSON.stringify({ service, entry: entryHash, outcome });
    await timed('lease', runScript(this.client, 'fillDone', [keys.lease, keys.waiting], [FILL_CHANNEL, message]));
  }
}
