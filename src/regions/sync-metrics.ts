/**
 * @module What the sync worker tells Prometheus (docs/operations.md, "Regions"). Labels are region
 * ids and service ids from the configuration: bounded.
 */
import { Counter, Gauge, Histogram, register } from 'prom-client';

function once<T>(name: string, make: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? make();
}

export const syncMetrics = {
  /** From a record's time in its region's journal to its application here. */
  lag: once(
    'cachefront_sync_lag_seconds',
    () =>
      new Histogram({
        name: 'cachefront_sync_lag_seconds',
        help: 'Replication lag: from a journal record in one region to its application in another, by region pair and kind.',
        labelNames: ['from', 'to', 'kind'] as const,
        buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      }),
  ),
  purgesApplied: once(
    'cachefront_sync_purges_applied_total',
    () =>
      new Counter({
        name: 'cachefront_sync_purges_applied_total',
        help: 'Purges made in another region and applied here.',
        labelNames: ['from', 'to'] as const,
      }),
  ),
  entriesShipped: once(
    'cachefront_sync_entries_shipped_total',
    () =>
      new Counter({
        name: 'cachefront_sync_entries_shipped_total',
        help: 'Objects copied here from another region’s store (pre-warmed fills).',
        labelNames: ['from', 'to'] as const,
      }),
  ),
  bytesShipped: once(
    'cachefront_sync_bytes_shipped_total',
    () =>
      new Counter({
        name: 'cachefront_sync_bytes_shipped_total',
        help: 'Body bytes of the objects copied here from another region.',
        labelNames: ['from', 'to'] as const,
      }),
  ),
  conflicts: once(
    'cachefront_sync_conflicts_total',
    () =>
      new Counter({
        name: 'cachefront_sync_conflicts_total',
        help: 'Fills from another region not copied because a purge they did not know of won.',
        labelNames: ['from', 'to'] as const,
      }),
  ),
  skipped: once(
    'cachefront_sync_fills_skipped_total',
    () =>
      new Counter({
        name: 'cachefront_sync_fills_skipped_total',
        help: 'Fills from another region not copied: cold, gone from its store, already here, or the queue full.',
        labelNames: ['from', 'to', 'reason'] as const,
      }),
  ),
  rejected: once(
    'cachefront_sync_records_rejected_total',
    () =>
      new Counter({
        name: 'cachefront_sync_records_rejected_total',
        help: 'Journal records that could not be read (reported in the log, skipped).',
        labelNames: ['from'] as const,
      }),
  ),
  journalLength: once(
    'cachefront_sync_journal_length',
    () =>
      new Gauge({
        name: 'cachefront_sync_journal_length',
        help: 'Records in this region’s journals not yet trimmed (every peer has read what is trimmed).',
        labelNames: ['region', 'service'] as const,
      }),
  ),
};

/** Every series of a region pair at zero, so dashboards show 0 rather than nothing before any event. */
export function zeroSyncMetrics(from: string, to: string): void {
  for (const kind of ['purge', 'fill']) syncMetrics.lag.zero({ from, to, kind });
  for (const counter of [
    syncMetrics.purgesApplied,
    syncMetrics.entriesShipped,
    syncMetrics.bytesShipped,
    syncMetrics.conflicts,
  ]) {
    counter.inc({ from, to }, 0);
  }
  for (const reason of ['cold', 'gone', 'present', 'queue-full']) syncMetrics.skipped.inc({ from, to, reason }, 0);
  syncMetrics.rejected.inc({ from }, 0);
}
