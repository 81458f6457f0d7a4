/**
 * @module Which stored URLs a successful unsafe request invalidates (RFC 9111 §4.4): the target
 * URI, and the URIs in Location and Content-Location when they have the same origin — another
 * origin's entries must never be purged by this one's responses.
 */
import { type PrimaryKey, primaryKey } from '../key/cache-key.js';
import { normaliseTarget } from '../key/url.js';
import type { Headers } from '../origin/hop-by-hop.js';
import { single } from '../policy/freshness.js';
import type { RequestView } from './recv.js';

export function invalidationTargets(view: RequestView, responseHeaders: Headers): PrimaryKey[] {
  const targets = new Map<string, PrimaryKey>([[view.primary.hash, view.primary]]);
  const base = `${view.scheme}://${view.authority}${view.target.path}`;
  for (const name of ['location', 'content-location']) {
    const value = single(responseHeaders, name);
    if (value === undefined) continue;
    let url: URL;
    try {
      url = new URL(value, base);
    } catch {
      continue;
    }
    if (url.protocol !== `${view.scheme}:` || url.host !== view.authority) continue;
    const target = normaliseTarget(url.pathname + url.search, view.runtime.queryRules);
    if (!target) continue;
    const primary = primaryKey({
      service: view.service.id,
      scheme: view.scheme,
      authority: view.authority,
      methodClass: 'GET',
      path: target.path,
      query: target.query,
    });
    targets.set(primary.hash, primary);
  }
  return [...targets.values()];
}
