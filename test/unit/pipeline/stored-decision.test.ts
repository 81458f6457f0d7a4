import { describe, expect, it } from 'vitest';
import { decideStored, type StoredInput } from '../../../src/pipeline/stored-decision.js';
import { requestDirectives } from '../../../src/policy/evaluate.js';
import { NO_STALE } from '../../../src/policy/stale.js';

const NOW = 1_800_000_000_000;
/** Stored 100 s ago, fresh until `staleIn` ms from now, deleted an hour from now. */
const meta = (cacheControl: string, staleIn: number) => ({
  responseTime: NOW - 100_000,
  initialAgeSeconds: 0,
  staleAt: NOW + staleIn,
  deleteAt: NOW + 3_600_000,
  headers: [['cache-control', cacheControl]] as [string, string][],
});
const decide = (over: Partial<StoredInput> & { request?: Record<string, string> } = {}) =>
  decideStored({
    meta: meta('max-age=300', 200_000),
    directives: requestDirectives(over.request ?? {}),
    now: NOW,
    stale: NO_STALE,
    backgroundRefresh: true,
    ...over,
  });

describe('decideStored: what the lookup found, decided before the origin is asked', () => {
  it('nothing stored is a miss; a hit-for-miss marker a miss fetched alone', () => {
    expect(decide({ meta: undefined })).toEqual({ kind: 'miss', alone: false });
    expect(decide({ meta: undefined, uncacheable: true })).toEqual({ kind: 'miss', alone: true });
  });

  it('only-if-cached never reaches the origin: a miss or a stale entry is not-cached, a fresh one served', () => {
    const request = { 'cache-control': 'only-if-cached' };
    expect(decide({ meta: undefined, request }).kind).toBe('not-cached');
    expect(decide({ meta: meta('max-age=60', -1000), request }).kind).toBe('not-cached');
    expect(decide({ request }).kind).toBe('fresh');
  });

  it('fresh, and stale when the client accepts it (max-stale), are served', () => {
    expect(decide().kind).toBe('fresh');
    expect(decide({ meta: meta('max-age=60', -5000), request: { 'cache-control': 'max-stale=60' } }).kind).toBe(
      'fresh',
    );
  });

  it('within stale-while-revalidate: served and refreshed; past it, or with nowhere to refresh: revalidated', () => {
    const swr = meta('max-age=60, stale-while-revalidate=30', -10_000);
    expect(decide({ meta: swr }).kind).toBe('serve-stale-and-refresh');
    expect(decide({ meta: swr, backgroundRefresh: false }).kind).toBe('revalidate');
    expect(decide({ meta: meta('max-age=60, stale-while-revalidate=30', -40_000) }).kind).toBe('revalidate');
  });

  it('a stale entry is revalidated with the deadline until which it may answer for a failing origin', () => {
    const sie = meta('max-age=60, stale-if-error=120', -10_000);
    expect(decide({ meta: sie })).toEqual({ kind: 'revalidate', reason: 'stale', staleIfErrorUntil: NOW + 110_000 });
    // Past the window, or without one: the stale entry may not answer.
    expect(decide({ meta: meta('max-age=60, stale-if-error=5', -10_000) })).toMatchObject({ staleIfErrorUntil: 0 });
    expect(decide({ meta: meta('max-age=60', -10_000) })).toMatchObject({ staleIfErrorUntil: 0 });
    // The service's grace applies when the origin said nothing, never past the entry's deletion.
    const grace = { graceMs: 7_200_000, overrideRevalidateOnError: false };
    expect(decide({ meta: meta('max-age=60', -10_000), stale: grace })).toMatchObject({
      staleIfErrorUntil: NOW + 3_600_000,
    });
  });

  it('must-revalidate closes the stale windows unless the service overrides it for outages', () => {
    const strict = meta('max-age=60, must-revalidate, stale-while-revalidate=30, stale-if-error=60', -10_000);
    expect(decide({ meta: strict })).toEqual({ kind: 'revalidate', reason: 'stale', staleIfErrorUntil: 0 });
    const override = { graceMs: 0, overrideRevalidateOnError: true };
    expect(decide({ meta: strict, stale: override })).toMatchObject({ staleIfErrorUntil: NOW + 50_000 });
  });

  it('a client asking for validation revalidates a fresh entry, which may still answer for a failing origin', () => {
    const fresh = meta('max-age=300, stale-if-error=60', 200_000);
    expect(decide({ meta: fresh, request: { 'cache-control': 'no-cache' } })).toEqual({
      kind: 'revalidate',
      reason: 'request',
      staleIfErrorUntil: NOW + 260_000,
    });
  });
});
