import { describe, expect, it } from 'vitest';
import { evaluateUse, requestDirectives } from '../../../src/policy/evaluate.js';

const NOW = 1_800_000_000_000;
// Received 100 s ago with Age 0, fresh for 300 s in all.
const stored = (cacheControl = 'max-age=300') => ({
  responseTime: NOW - 100_000,
  initialAgeSeconds: 0,
  staleAt: NOW + 200_000,
  headers: [['cache-control', cacheControl]] as [string, string][],
});
const staleStored = (cacheControl = 'max-age=60') => ({ ...stored(cacheControl), staleAt: NOW - 40_000 });
const use = (s: ReturnType<typeof stored>, req: Record<string, string>) =>
  evaluateUse(s, requestDirectives(req), NOW).kind;

describe('evaluateUse (RFC 9111 §4, §5.2.1)', () => {
  it.each([
    ['fresh, no directives', stored(), {}, 'fresh'],
    ['stale, no directives', staleStored(), {}, 'validate'],
    ['§5.2.1.4 no-cache', stored(), { 'cache-control': 'no-cache' }, 'validate'],
    ['§5.4 Pragma: no-cache without Cache-Control', stored(), { pragma: 'no-cache' }, 'validate'],
    [
      '§5.4 Pragma is ignored when Cache-Control is present',
      stored(),
      { pragma: 'no-cache', 'cache-control': 'max-stale' },
      'fresh',
    ],
    ['§5.2.1.1 max-age above the age', stored(), { 'cache-control': 'max-age=200' }, 'fresh'],
    ['§5.2.1.1 max-age below the age', stored(), { 'cache-control': 'max-age=50' }, 'validate'],
    [
      '§5.2.1.1 max-age=0 asks for validation of any aged response',
      stored(),
      { 'cache-control': 'max-age=0' },
      'validate',
    ],
    ['§5.2.1.3 min-fresh satisfied', stored(), { 'cache-control': 'min-fresh=100' }, 'fresh'],
    ['§5.2.1.3 min-fresh not satisfied', stored(), { 'cache-control': 'min-fresh=300' }, 'validate'],
    ['§5.2.1.2 max-stale without a value', staleStored(), { 'cache-control': 'max-stale' }, 'stale-accepted'],
    ['§5.2.1.2 max-stale large enough', staleStored(), { 'cache-control': 'max-stale=60' }, 'stale-accepted'],
    ['§5.2.1.2 max-stale too small', staleStored(), { 'cache-control': 'max-stale=10' }, 'validate'],
    [
      '§5.2.2.2 must-revalidate forbids stale',
      staleStored('max-age=60, must-revalidate'),
      { 'cache-control': 'max-stale' },
      'validate',
    ],
    [
      '§5.2.2.8 proxy-revalidate forbids stale',
      staleStored('max-age=60, proxy-revalidate'),
      { 'cache-control': 'max-stale' },
      'validate',
    ],
    ['§5.2.2.10 s-maxage forbids stale', staleStored('s-maxage=60'), { 'cache-control': 'max-stale' }, 'validate'],
    [
      '§5.2.2.4 no-cache response never served stale',
      staleStored('no-cache'),
      { 'cache-control': 'max-stale' },
      'validate',
    ],
    ['upper-case request directives', stored(), { 'cache-control': 'NO-CACHE' }, 'validate'],
  ] as const)('%s', (_why, s, req, expected) => {
    expect(use(s, req as Record<string, string>)).toBe(expected);
  });
});
