/**
 * @module Warnings that recur while something is down (Redis unreachable: every lookup, store and
 * flush fails) are logged at most once per interval per message, with how many were held back,
 * so an outage is visible without drowning the log.
 */
export interface WarnLogger {
  /** `key` groups the warnings throttled together (default: the message). */
  warn(obj: object, msg: string, key?: string): void;
}

const MAX_KEYS = 10_000;

export function throttledWarnings(
  log: { warn(obj: object, msg: string): void },
  intervalMs = 10_000,
  clock: () => number = Date.now,
): WarnLogger {
  let seen = new Map<string, { last: number; held: number }>();
  return {
    warn(obj, msg, key = msg) {
      const now = clock();
      const entry = seen.get(key);
      if (entry && now - entry.last < intervalMs) {
        entry.held++;
        return;
      }
      log.warn(entry?.held ? { ...obj, suppressedSinceLast: entry.held } : obj, msg);
      if (seen.size >= MAX_KEYS) seen = new Map();
      seen.set(key, { last: now, held: 0 });
    },
  };
}
