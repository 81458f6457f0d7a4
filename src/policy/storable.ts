/**
 * @module May a shared cache store this response? (RFC 9111 §3, with the edge's stricter defaults.)
 * Returns the reason for every refusal: it goes into Cache-Status `detail=` and the logs.
 */

import { parseVary } from '../key/vary.js';
import { type Directives, parseCacheControl } from './cache-control.js';
import {
  correctedInitialAge,
  freshnessLifetime,
  type HeaderMap,
  type HeuristicSettings,
  type Lifetime,
} from './freshness.js';

export type NotStoredReason =
  | 'method'
  | 'request-no-store'
  | 'status'
  | 'partial-content'
  | 'no-store'
  | 'private'
  | 'no-cache'
  | 'authorization'
  | 'set-cookie'
  | 'vary-star'
  | 'no-freshness'
  | 'stale-on-arrival'
  | 'too-large';

export interface StoreDecisionInput {
  method: string;
  requestHeaders: HeaderMap;
  status: number;
  responseHeaders: HeaderMap;
  requestTime: number;
  responseTime: number;
  heuristic: HeuristicSettings;
}

export type StoreDecision =
  | {
      ok: true;
      directives: Directives;
      lifetime: Lifetime;
      initialAgeSeconds: number;
      /** Absolute time (ms) at which the response stops being fresh. */
      staleAt: number;
      varyNames: string[];
    }
  | { ok: false; reason: NotStoredReason };

const refuse = (reason: NotStoredReason): StoreDecision => ({ ok: false, reason });

export function decideStorage(input: StoreDecisionInput): StoreDecision {
  const { status, responseHeaders: res, requestHeaders: req } = input;
  // §3: "the request method is understood by the cache" — GET (and HEAD, answered from GET).
  if (input.method !== 'GET' && input.method !== 'HEAD') return refuse('method');
  // §3: "the no-store cache directive is not present in the request".
  if (parseCacheControl(req['cache-control']).has('no-store')) return refuse('request-no-store');
  // §3: "the response status code is final"; 206 is never stored as a full object (§3.3).
  if (status === 206) return refuse('partial-content');
  if (status < 200 || status === 304 || status > 599) return refuse('status');

  const directives = parseCacheControl(res['cache-control']);
  // §3: "the no-store cache directive is not present in the response".
  if (directives.has('no-store')) return refuse('no-store');
  // §3: "if the cache is shared: the private response directive is either not present or allows a
  // shared cache to store a modified response" — the edge never stores any form of it.
  if (directives.has('private')) return refuse('private');
  // §5.2.2.4: no-cache responses must be revalidated on every use; not kept until validation exists.
  if (directives.has('no-cache')) return refuse('no-cache');
  // §3.5: a response to a request with Authorization only if public, s-maxage or must-revalidate.
  if (
    req.authorization !== undefined &&
    !directives.has('public') &&
    !directives.has('s-maxage') &&
    !directives.has('must-revalidate')
  ) {
    return refuse('authorization');
  }
  // A response that sets a cookie is personal; storing it would hand one visitor's session to all.
  if (res['set-cookie'] !== undefined) return refuse('set-cookie');
  // RFC 9110 §12.5.5: Vary "*" can never be matched by a later request.
  const vary = parseVary(res.vary);
  if (vary.kind === 'star') return refuse('vary-star');

  const lifetime = freshnessLifetime(status, directives, res, input.responseTime, input.heuristic);
  if (lifetime.source === 'none') return refuse(status >= 200 && status < 600 ? 'no-freshness' : 'status');
  // max-age=0 (without a positive s-maxage) or an Expires in the past: nothing to reuse.
  const initialAgeSeconds = correctedInitialAge(res, input.requestTime, input.responseTime);
  const remaining = lifetime.seconds - initialAgeSeconds;
  if (remaining <= 0) return refuse('stale-on-arrival');

  return {
    ok: true,
    directives,
    lifetime,
    initialAgeSeconds,
    staleAt: input.responseTime + remaining * 1000,
    varyNames: withContentCodingVary(vary.names, res),
  };
}

/**
 * An origin that compresses but forgets `Vary: Accept-Encoding` would otherwise get gzip bytes
 * served to clients that cannot read them; the edge adds the header to the variant rule itself.
 */
function withContentCodingVary(names: string[], res: HeaderMap): string[] {
  const coding = res['content-encoding'];
  if (coding === undefined || coding === 'identity' || names.includes('accept-encoding')) return names;
  return [...names, 'accept-encoding'].sort();
}
