/**
 * @module Warnings that recur while something is down (Redis unreachable: every lookup, store and
 * flush fails) are logged at most once per interval per message, with how many were held back,
 * so an outage is visible without drowning the log.
 */
export interface WarnLogger {
  warn(obj: object, msg: string): void;
}

export function throttledWarnings<T extends WarnLogger>(log: T, intervalMs = 10_000): WarnLogger {
  const seen = new Map<string, { last: number; held: number }>();
  return {
    warn(obj, msg) {
      const now = Date.now();
      const entry = seen.get(msg);
      if (entry && now - entry.last < intervalMs) {
        entry.held++;
        return;
      }
      log.warn(entry?.held ? { ...obj, suppressedSinceLast: entry.held } : obj, msg);
      seen.set(msg, { last: now, held: 0 });
    },
  };
}
