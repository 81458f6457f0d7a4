/**
 * @module Requests by service and cache status — the counter and the latency histogram every
 * request adds to — tallied in plain numbers on the request path and rendered for prom-client only
 * when scraped. prom-client's labelled `inc` and `observe` hash and validate their labels on every
 * call (a few per cent of a hit's CPU); here a request costs a map lookup and three additions.
 * Both metrics are prom-client collectors (`get()`), so the cluster aggregation sums them across
 * workers like any counter or histogram.
 */

/** What prom-client reads from a collector (its registry and the cluster aggregation). */
interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}
interface Collected {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: Sample[];
}

interface Row {
  labels: { service: string; cache_status: string };
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  buckets: number[];
}

export class RequestTally {
  private readonly rows = new Map<string, Row>();

  constructor(private readonly bounds: readonly number[]) {}

  /** Makes a row exist at zero (a dashboard shows 0 before the first request, not "no data"). */
  declare(service: string, status: string): Row {
    const id = `${service}\n${status}`;
    let row = this.rows.get(id);
    if (!row) {
      row = {
        labels: { service, cache_status: status },
        count: 0,
        sum: 0,
        buckets: new Array(this.bounds.length + 1).fill(0),
      };
      this.rows.set(id, row);
    }
    return row;
  }

  record(service: string, status: string, seconds: number): void {
    const row = this.rows.get(`${service}\n${status}`) ?? this.declare(service, status);
    row.count++;
    row.sum += seconds;
    let i = 0;
    while (i < this.bounds.length && seconds > (this.bounds[i] as number)) i++;
    row.buckets[i] = (row.buckets[i] as number) + 1;
  }

  /** The counter, as a prom-client collector. */
  counter(name: string, help: string) {
    return {
      name,
      help,
      type: 'counter' as const,
      aggregator: 'sum' as const,
      get: async (): Promise<Collected> => ({
        name,
        help,
        type: 'counter',
        aggregator: 'sum',
        values: [...this.rows.values()].map((row) => ({ labels: { ...row.labels }, value: row.count })),
      }),
    };
  }

  /** The histogram, as a prom-client collector (cumulative buckets, `_sum` and `_count`). */
  histogram(name: string, help: string) {
    return {
      name,
      help,
      type: 'histogram' as const,
      aggregator: 'sum' as const,
      get: async (): Promise<Collected> => {
        const values: Sample[] = [];
        for (const row of this.rows.values()) {
          let cumulative = 0;
          this.bounds.forEach((bound, i) => {
            cumulative += row.buckets[i] as number;
            values.push({ labels: { ...row.labels, le: bound }, value: cumulative, metricName: `${name}_bucket` });
          });
          values.push({ labels: { ...row.labels, le: '+Inf' }, value: row.count, metricName: `${name}_bucket` });
          values.push({ labels: { ...row.labels }, value: row.sum, metricName: `${name}_sum` });
          values.push({ labels: { ...row.labels }, value: row.count, metricName: `${name}_count` });
        }
        return { name, help, type: 'histogram', aggregator: 'sum', values };
      },
    };
  }
}
