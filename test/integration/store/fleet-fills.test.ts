/**
 * The fill coordination of fleet-wide coalescing over Redis (store/redis-fills.ts), as two nodes
 * see it: one claim wins and the loser is recorded as waiting in the same call; the holder's
 * relay is written only when someone waits, in batches, in order; the outcome reaches only fills
 * someone waited for. On one Redis and on a real Redis Cluster.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect } from 'vitest';
import { RedisFills } from '../../../src/store/redis-fills.js';
import type { FlightPart } from '../../../src/store/types.js';
import { test } from '../../helpers/fixtures.js';
import { storeTargets, TARGETS } from '../../helpers/targets.js';

const storeAt = storeTargets();
const LEASE_MS = 3000;
const kinds = (parts: { part: FlightPart }[]) =>
  parts.map(({ part }) => (part.kind === 'chunk' ? part.bytes.toString() : part.kind));

describe.each(TARGETS)('fleet fills on %s', (target) => {
  test('one claim wins; the relay is written only for a fill someone waits for', async ({ redis }) => {
    const where = await storeAt(target, redis);
    const clients = [await where.client(), await where.client()];
    const [a, b] = clients.map((client) => new RedisFills(client)) as [RedisFills, RedisFills];
    const service = `fills-${randomUUID().slice(0, 8)}`;
    try {
      // Nobody waits for this fill: its relay writes nothing.
      expect(await a.claimFill(service, 'lonely', LEASE_MS)).toBe(true);
      expect(await a.flightAppend(service, 'lonely', [{ kind: 'head', json: '{}' }])).toBe(false);
      expect(await b.flightRead(service, 'lonely', undefined)).toEqual([]);

      // Two nodes ask for the same cold entry: one holds it, the other waits.
      const claims = await Promise.all([a.claimFill(service, 'e', LEASE_MS), b.claimFill(service, 'e', LEASE_MS)]);
      expect(claims.filter(Boolean)).toHaveLength(1);
      const [holder, waiter] = claims[0] ? [a, b] : [b, a];
      expect(await waiter.fillHeld(service, 'e')).toBe(true);

      // The holder relays in batches; the waiter reads every part once, in order, from its last id.
      expect(
        await holder.flightAppend(service, 'e', [
          { kind: 'head', json: '{"status":200}' },
          { kind: 'chunk', bytes: Buffer.from('one') },
        ]),
      ).toBe(true);
      const first = await waiter.flightRead(service, 'e', undefined);
      expect(kinds(first)).toEqual(['head', 'one']);
      await holder.flightAppend(service, 'e', [{ kind: 'chunk', bytes: Buffer.from('two') }, { kind: 'end' }]);
      const rest = await waiter.flightRead(service, 'e', first.at(-1)?.id);
      expect(kinds(rest)).toEqual(['two', 'end']);

      await holder.fillDone(service, 'e', 'stored');
      expect(await waiter.fillHeld(service, 'e')).toBe(false);
      // The lease is free again: the next cold miss for it claims it anew.
      expect(await waiter.claimFill(service, 'e', LEASE_MS)).toBe(true);
    } finally {
      for (const client of clients) client.disconnect();
    }
  });
});
