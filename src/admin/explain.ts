/**
 * @module Explain: what the edge would do with a request — the service, the normalised key, the
 * variant, whether an entry is stored and how fresh it is — computed by the very functions the
 * request path uses (recv, lookup), and never contacting the origin.
 */
import type { IncomingMessage } from 'node:http';
import type { CachefrontError } from '../errors.js';
import { varyValues } from '../key/vary.js';
import { lookup, VaryMemo } from '../pipeline/lookup.js';
import { type RecvDeps, recv } from '../pipeline/recv.js';
import { decideStored, type StoredDecision } from '../pipeline/stored-decision.js';
import { requestDirectives } from '../policy/evaluate.js';
import { currentAge } from '../policy/freshness.js';
import type { CompiledRule, MatchedRules } from '../rules/match.js';
import type { CacheStore } from '../store/types.js';

/** What each decision leads to next (edge-handler's diagram). */
const NEXT: Record<StoredDecision['kind'], string[]> = {
  fresh: ['deliver:hit'],
  'serve-stale-and-refresh': ['refresh', 'deliver:updating'],
  revalidate: ['fill'],
  miss: ['fill'],
  'not-cached': ['synth:504'],
};

export interface ExplainInput {
  /** Absolute URL as a client would request it: scheme, host, path, query. */
  url: string;
  /** Request headers (names in any case), as the client would send them. */
  headers: Record<string, string>;
}

export type Explanation =
  | { ok: false; error: CachefrontError }
  | { ok: true; service: string; result: Record<string, unknown> };

/**
 * The edge's view of a request described by URL and headers: the shape recv reads from a real
 * request (target, headers, whether the socket is TLS), built without one.
 */
export function viewOf(input: ExplainInput, deps: RecvDeps) {
  const url = new URL(input.url);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.headers)) headers[name.toLowerCase()] = value;
  headers.host = url.host;
  const request = {
    method: 'GET',
    url: `${url.pathname}${url.search}`,
    headers,
    rawHeaders: [],
    socket: { encrypted: url.protocol === 'https:', remoteAddress: '127.0.0.1' },
  } as unknown as IncomingMessage;
  return recv(request, { services: deps.services, runtimeFor: deps.runtimeFor });
}

export async function explain(
  input: ExplainInput,
  deps: RecvDeps & { store: CacheStore; now: () => number },
): Promise<Explanation> {
  const received = viewOf(input, deps);
  if (!received.ok) return { ok: false, error: received.error };
  const { view } = received;
  const now = deps.now();
  const found = await lookup(view, deps.store, new VaryMemo(), now);
  const names = found.names;
  const values = varyValues(names, view.headers, view.runtime.vary);
  const result: Record<string, unknown> = {
    service: view.service.id,
    key: { readable: view.primary.readable, hash: view.primary.hash },
    originTarget: `${view.target.path}${view.target.query ? `?${view.target.query}` : ''}`,
    variant: {
      varyNames: names,
      values: Object.fromEntries(names.map((n, i) => [n, values[i] ?? null])),
      entryKey: found.entryKey,
    },
    rules: explainRules(view.rules),
  };
  if (found.kind === 'hit') {
    const { meta, body } = found.entry;
    result.entry = {
      status: meta.status,
      bytes: body.length,
      storedAt: new Date(meta.storedAt).toISOString(),
      fresh: now < meta.staleAt,
      ageSeconds: currentAge(meta.initialAgeSeconds, meta.responseTime, now),
      ttlSeconds: Math.trunc((meta.staleAt - now) / 1000),
      staleAt: new Date(meta.staleAt).toISOString(),
      deleteAt: new Date(meta.deleteAt).toISOString(),
    };
  } else if (found.kind === 'uncacheable') {
    result.entry = null;
    result.uncacheable = { reason: found.reason };
  } else {
    result.entry = null;
  }
  // The pipeline's own decision on what was found (edge-handler), and the states it leads through
  // up to the origin, which explain never contacts.
  const decision = decideStored({
    meta: found.kind === 'hit' ? found.entry.meta : undefined,
    uncacheable: found.kind === 'uncacheable',
    directives: requestDirectives(view.headers),
    now,
    stale: view.service.cache.stale,
    backgroundRefresh: true,
  });
  result.decision = decision;
  // A bypass rule sends the request straight to the origin: no lookup at all.
  result.states = view.rules.request?.rule.bypass
    ? ['recv', 'pass:rule', 'deliver:pass']
    : ['recv', `lookup:${found.kind}`, decision.kind, ...NEXT[decision.kind]];
  return { ok: true, service: view.service.id, result };
}

/**
 * Which of the service's rules this request matched, and why: the one whose request decisions apply
 * (bypass, key), and every rule whose request conditions hold, with the response conditions still to
 * be met (the first of them that holds once the origin answers decides TTLs and what is stored).
 */
function explainRules(matched: MatchedRules) {
  const describe = (rule: CompiledRule) => ({
    name: rule.name,
    match: rule.rule.match,
    decidedOnResponse: rule.onResponse !== undefined,
  });
  return {
    request: matched.request ? describe(matched.request) : null,
    candidates: matched.candidates.map(describe),
  };
}
