/**
 * @module The per-service circuit breaker, shared by every edge node through Redis. After
 * `failures` consecutive failures (counted by any node), the circuit opens for `cooldownMs`: no
 * node sends that service's requests to its origin — stale entries are served, the rest fail fast.
 * Then one probe (a lease, so one across all nodes) goes through; its success closes the circuit,
 * its failure opens it again. Each node reads the shared state at most once a second, in the
 * background, so the request path only consults memory (a probe costs one lease call).
 */
import type { ServiceConfig } from '../config/schema.js';
import type { CoordinationStore, OriginHealthState } from '../store/types.js';

export type Gate = { allowed: true; probe: boolean } | { allowed: false; retryAfterMs: number };

export type CircuitState = 'closed' | 'open' | 'half-open';

interface Known extends OriginHealthState {
  readAt: number;
  /** Whether this node last reported the circuit open (so each change is reported once). */
  reportedOpen: boolean;
}

/** A circuit that opened or closed, as this node saw it. */
export interface CircuitChange {
  service: string;
  state: 'open' | 'closed';
  failures: number;
  /** When an open circuit lets a probe through (ms). */
  openUntil: number;
}

const REFRESH_MS = 1000;
const ALLOWED: Gate = { allowed: true, probe: false };

export class OriginHealth {
  private readonly known = new Map<string, Known>();

  constructor(
    private readonly store: CoordinationStore,
    private readonly now: () => number,
    /** Told once when a circuit opens and once when it closes (an operator's log lines). */
    private readonly onChange: (change: CircuitChange) => void = () => undefined,
  ) {}

  /** Reports a change of this node's view of a circuit, once. */
  private noticed(service: string, known: Known): void {
    const open = known.openUntil !== 0;
    if (open === known.reportedOpen) return;
    known.reportedOpen = open;
    this.onChange({ service, state: open ? 'open' : 'closed', failures: known.failures, openUntil: known.openUntil });
  }

  /** May a request go to this service's origin now? */
  async gate(service: ServiceConfig): Promise<Gate> {
    const breaker = service.origin.circuitBreaker;
    if (!breaker.enabled) return ALLOWED;
    const now = this.now();
    const known = this.knownFor(service.id, now);
    if (known.openUntil === 0) return ALLOWED;
    if (known.openUntil > now) return { allowed: false, retryAfterMs: known.openUntil - now };
    // The cooldown is over: one probe across every node; the others keep failing fast meanwhile.
    const probe = await this.store
      .acquireLease(service.id, 'probe', Math.min(breaker.cooldownMs, service.origin.responseTimeoutMs))
      .catch(() => true);
    return probe
      ? { allowed: true, probe: true }
      : { allowed: false, retryAfterMs: Math.min(breaker.cooldownMs, 1000) };
  }

  /** An origin exchange ended: `ok` false for a connection failure, a timeout or a failure status. */
  record(service: ServiceConfig, ok: boolean): void {
    const breaker = service.origin.circuitBreaker;
    if (!breaker.enabled) return;
    const now = this.now();
    const known = this.knownFor(service.id, now);
    if (ok) {
      // Most successes change nothing: only one that follows failures writes to Redis.
      if (known.failures === 0 && known.openUntil === 0) return;
      known.failures = 0;
      known.openUntil = 0;
      this.noticed(service.id, known);
      void this.store.originSucceeded(service.id).catch(() => undefined);
      return;
    }
    known.failures++;
    if (known.failures >= breaker.failures && known.openUntil <= now) known.openUntil = now + breaker.cooldownMs;
    this.noticed(service.id, known);
    void this.store
      .originFailed(service.id, breaker.failures, breaker.cooldownMs, now)
      .then((shared) => {
        known.failures = shared.failures;
        known.openUntil = shared.openUntil;
        this.noticed(service.id, known);
      })
      .catch(() => undefined);
  }

  /** The shared state, for the admin API (this node's view when Redis cannot be asked). */
  async state(service: ServiceConfig): Promise<OriginHealthState & { state: CircuitState }> {
    const now = this.now();
    const shared = await this.store.originState(service.id).catch(() => this.knownFor(service.id, now));
    const state: CircuitState = shared.openUntil === 0 ? 'closed' : shared.openUntil > now ? 'open' : 'half-open';
    return { state, failures: shared.failures, openUntil: shared.openUntil };
  }

  /** This node's view, refreshed from Redis in the background at most once a second. */
  private knownFor(service: string, now: number): Known {
    let known = this.known.get(service);
    if (!known) {
      known = { failures: 0, openUntil: 0, readAt: 0, reportedOpen: false };
      this.known.set(service, known);
    }
    if (now - known.readAt >= REFRESH_MS) {
      known.readAt = now;
      const view = known;
      void this.store
        .originState(service)
        .then((shared) => {
          view.failures = shared.failures;
          view.openUntil = shared.openUntil;
          this.noticed(service, view);
        })
        .catch(() => undefined);
    }
    return known;
  }
}
