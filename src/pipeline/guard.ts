/**
 * @module The WAAP checks before anything else: the service's deny and allow lists, then its rate
 * limit, counted per client address across all edge nodes. A rate-limit store that cannot answer
 * lets the request through (failing closed would turn a Redis hiccup into an outage).
 */
import type { ServerResponse } from 'node:http';
import { type CachefrontError, Forbidden, RateLimited } from '../errors.js';
import { contains } from '../waap/cidr.js';
import type { EdgeDeps } from './edge-deps.js';
import type { RequestView } from './recv.js';

/** Does the service check requests at all? (Most do not: their requests skip `guard` and its promise.) */
export function guarded(view: RequestView): boolean {
  return Boolean(view.runtime.allow || view.runtime.deny || view.service.waap.rateLimit);
}

/** The refusal for this request, or undefined when it may go on. */
export async function guard(
  view: RequestView,
  res: ServerResponse,
  deps: EdgeDeps,
): Promise<CachefrontError | undefined> {
  const { allow, deny } = view.runtime;
  const limit = view.service.waap.rateLimit;
  if (!guarded(view)) return undefined;
  const client = view.clientIp;
  if (deny && contains(deny, client)) return Forbidden();
  if (allow && !contains(allow, client)) return Forbidden();
  if (!limit || !deps.rateLimits) return undefined;
  try {
    const decision = await deps.rateLimits.hit(view.service.id, client, limit.requests, limit.windowMs, deps.now());
    if (decision.allowed) return undefined;
    res.setHeader('retry-after', String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))));
    return RateLimited(String(limit.requests), String(limit.windowMs));
  } catch (error) {
    deps.log.warn({ err: error, service: view.service.id }, 'rate limit check failed; request let through');
    return undefined;
  }
}
