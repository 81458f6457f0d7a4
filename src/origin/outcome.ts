/**
 * @module What each origin exchange says about the origin: its duration and outcome in the
 * metrics, a throttled warning per failing service, and a success or failure for its circuit
 * breaker. A failure status (origin.failureStatuses), a refused connection or a timeout count
 * against the origin; a client's oversized upload says nothing about it and is not counted.
 */
import type { ServiceConfig } from '../config/schema.js';
import type { WarnLogger } from '../log-throttle.js';
import { metrics } from '../metrics/metrics.js';
import { bodyWasTooLarge } from '../pipeline/request-body.js';
import type { OriginOutcome } from './client.js';
import type { OriginHealth } from './health.js';

const ERROR_KINDS: Record<string, string> = {
  CF_ERR_ORIGIN_CONNECT: 'connect',
  CF_ERR_ORIGIN_TIMEOUT: 'timeout',
};

function errorKind(error: unknown): string {
  return ERROR_KINDS[(error as { code?: string }).code ?? ''] ?? 'broken';
}

/** The recorder OriginClients calls with every exchange's outcome. */
export function originOutcomes(warn: WarnLogger, health: OriginHealth | undefined) {
  return (service: ServiceConfig, outcome: OriginOutcome): void => {
    const labels = { service: service.id };
    metrics.originDuration.observe(labels, outcome.seconds);
    let ok: boolean;
    if ('status' in outcome) {
      ok = !service.origin.failureStatuses.includes(outcome.status);
      if (!ok) metrics.originErrors.inc({ ...labels, kind: 'status' });
    } else {
      if (bodyWasTooLarge(outcome.error)) return;
      ok = false;
      metrics.originErrors.inc({ ...labels, kind: errorKind(outcome.error) });
    }
    if (!ok) {
      // Each service's failures are one warning per interval, with the count held back since.
      const detail = 'status' in outcome ? { status: outcome.status } : { error: errorKind(outcome.error) };
      warn.warn({ service: service.id, ...detail }, 'origin request failed', `origin:${service.id}`);
    }
    metrics.originRequests.inc({ ...labels, outcome: ok ? 'success' : 'failure' });
    health?.record(service, ok);
  };
}
