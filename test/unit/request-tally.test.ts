import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RequestTally } from '../../src/metrics/request-tally.js';

describe('the request tally', () => {
  it('renders as a Prometheus counter and a cumulative histogram, zero rows included', async () => {
    const tally = new RequestTally([0.01, 0.1, 1]);
    tally.declare('shop', 'miss');
    tally.record('shop', 'hit', 0.005);
    tally.record('shop', 'hit', 0.05);
    tally.record('shop', 'hit', 5);
    const registry = new Registry();
    for (const collector of [tally.counter('t_requests_total', 'r'), tally.histogram('t_seconds', 'd')]) {
      registry.registerMetric(collector as unknown as Parameters<typeof registry.registerMetric>[0]);
    }
    const text = await registry.metrics();
    expect(text).toContain('# TYPE t_requests_total counter');
    expect(text).toContain('t_requests_total{service="shop",cache_status="miss"} 0');
    expect(text).toContain('t_requests_total{service="shop",cache_status="hit"} 3');
    expect(text).toContain('# TYPE t_seconds histogram');
    expect(text).toContain('t_seconds_bucket{service="shop",cache_status="hit",le="0.01"} 1');
    expect(text).toContain('t_seconds_bucket{service="shop",cache_status="hit",le="0.1"} 2');
    expect(text).toContain('t_seconds_bucket{service="shop",cache_status="hit",le="1"} 2');
    expect(text).toContain('t_seconds_bucket{service="shop",cache_status="hit",le="+Inf"} 3');
    expect(text).toContain('t_seconds_sum{service="shop",cache_status="hit"} 5.055');
    expect(text).toContain('t_seconds_count{service="shop",cache_status="hit"} 3');
  });
});
