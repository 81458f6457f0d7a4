import { describe, expect, it } from 'vitest';
import { viewOf } from '../../../src/admin/explain.js';
import { parseConfig } from '../../../src/config/load.js';
import type { RequestView } from '../../../src/pipeline/recv.js';
import { decideResponse, refusalIsTheUrls, staleAnswersInstead } from '../../../src/pipeline/response-decision.js';
import { serviceRuntimes } from '../../../src/pipeline/service-runtime.js';
import { ServiceRegistry } from '../../../src/services/registry.js';
import type { CachedEntry } from '../../../src/store/types.js';

const NOW = 1_800_000_000_000;
const config = parseConfig(
  { services: [{ id: 'shop', hosts: ['shop.test'], origin: { url: 'http://127.0.0.1:1' } }] },
  'test',
  {},
);
const deps = { services: ServiceRegistry.fromConfig(config), runtimeFor: serviceRuntimes(config.services) };

function view(headers: Record<string, string> = {}): RequestView {
  const received = viewOf({ url: 'http://shop.test/page', headers }, deps);
  if (!received.ok) throw new Error('the test request was refused');
  return received.view;
}

const answer = (status: number, headers: Record<string, string>) => ({
  status,
  headers: { date: new Date(NOW).toUTCString(), ...headers },
  requestTime: NOW - 20,
  responseTime: NOW,
});

const storedEntry = (status: number, headers: [string, string][]): CachedEntry => ({
  kind: 'entry',
  body: Buffer.from('stored body'),
  meta: {
    status,
    headers,
    responseTime: NOW - 600_000,
    storedAt: NOW - 600_000,
    initialAgeSeconds: 0,
    staleAt: NOW - 540_000,
    deleteAt: NOW + 3_600_000,
    varyNames: [],
    url: 'shop.test/page',
  },
});

const context = (over: Partial<Parameters<typeof decideResponse>[0]> = {}) => ({
  view: view(),
  guessedNames: [],
  stale: undefined,
  conditional: false,
  mayStore: true,
  ...over,
});

describe('decideResponse: what the origin answered, decided once', () => {
  it('a cacheable 200 is stored, for everyone, for its max-age', () => {
    const decision = decideResponse(context(), answer(200, { 'cache-control': 'max-age=60' }));
    expect(decision.kind).toBe('full');
    if (decision.kind !== 'full') return;
    expect(decision.head.storing).toBe(true);
    expect(decision.head.decision.ok && decision.head.decision.staleAt).toBe(NOW + 60_000);
  });

  it('private="…" fields reach the requester but not the shared copy', () => {
    const decision = decideResponse(
      context(),
      answer(200, { 'cache-control': 'max-age=60, private="x-user"', 'x-user': 'ann' }),
    );
    if (decision.kind !== 'full') throw new Error('expected a full response');
    expect(decision.head.headers['x-user']).toBe('ann');
    expect(decision.head.sharedHeaders['x-user']).toBeUndefined();
  });

  it('a declared length over the object limit, or a key known too large, is not stored', () => {
    const huge = decideResponse(
      context(),
      answer(200, { 'cache-control': 'max-age=60', 'content-length': String(10 * 1024 ** 3) }),
    );
    const known = decideResponse(context({ mayStore: false }), answer(200, { 'cache-control': 'max-age=60' }));
    for (const decision of [huge, known]) {
      expect(decision.kind === 'full' && decision.head.decision).toEqual({ ok: false, reason: 'too-large' });
    }
  });

  it('CPDoS: an error never replaces a stored success, and that refusal is not the URL’s', () => {
    const stale = storedEntry(200, [['cache-control', 'max-age=60']]);
    const decision = decideResponse(context({ stale }), answer(500, { 'cache-control': 'max-age=60' }));
    if (decision.kind !== 'full') throw new Error('expected a full response');
    expect(decision.head.decision).toEqual({ ok: false, reason: 'error-over-success' });
    expect(decision.head.replacesStored).toBe(true);
    expect(refusalIsTheUrls(decision.head.decision)).toBe(false);
    // Without a stored success, the same error is the URL's own answer.
    const fresh = decideResponse(context(), answer(500, { 'cache-control': 'no-store' }));
    expect(fresh.kind === 'full' && refusalIsTheUrls(fresh.head.decision)).toBe(true);
  });

  it('a failure status lets a stale entry answer instead; a 404 does not', () => {
    expect(staleAnswersInstead(view(), 503)).toBe(true);
    expect(staleAnswersInstead(view(), 404)).toBe(false);
  });

  it('a 304 for the stored validator refreshes it: stored status, merged headers, new freshness', () => {
    const stale = storedEntry(200, [
      ['cache-control', 'max-age=60'],
      ['etag', '"v1"'],
      ['x-kept', 'yes'],
    ]);
    const decision = decideResponse(
      context({ stale, conditional: true }),
      answer(304, { 'cache-control': 'max-age=120', etag: '"v1"' }),
    );
    if (decision.kind !== 'not-modified') throw new Error(`expected not-modified, got ${decision.kind}`);
    expect(decision.head.status).toBe(200);
    expect(decision.head.originStatus).toBe(304);
    expect(decision.head.headers['x-kept']).toBe('yes');
    expect(decision.head.headers['cache-control']).toBe('max-age=120');
    expect(decision.head.decision.ok && decision.head.decision.staleAt).toBe(NOW + 120_000);
  });

  it('a 304 naming another representation is fetched whole (§4.3.4)', () => {
    const stale = storedEntry(200, [
      ['cache-control', 'max-age=60'],
      ['etag', '"v1"'],
    ]);
    const decision = decideResponse(context({ stale, conditional: true }), answer(304, { etag: '"v2"' }));
    expect(decision.kind).toBe('refetch');
  });

  it('the variant a response is stored under follows its Vary, not the guess the fill started with', () => {
    const asked = view({ 'accept-language': 'fr' });
    const varied = decideResponse(
      context({ view: asked }),
      answer(200, { 'cache-control': 'max-age=60', vary: 'Accept-Language' }),
    );
    const plain = decideResponse(context({ view: asked }), answer(200, { 'cache-control': 'max-age=60' }));
    if (varied.kind !== 'full' || plain.kind !== 'full') throw new Error('expected full responses');
    expect(varied.head.variant).toEqual([['accept-language', 'fr']]);
    expect(varied.head.entryKey).not.toBe(plain.head.entryKey);
  });
});
