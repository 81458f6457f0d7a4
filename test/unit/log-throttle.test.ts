import { describe, expect, it } from 'vitest';
import { throttledWarnings } from '../../src/log-throttle.js';

describe('throttled warnings', () => {
  it('logs the first of a kind, holds the rest for the interval, then logs one with the count held', () => {
    const lines: { obj: object; msg: string }[] = [];
    let now = 0;
    const warn = throttledWarnings({ warn: (obj, msg) => lines.push({ obj, msg }) }, 10_000, () => now);
    for (let i = 0; i < 5; i++) warn.warn({ service: 'a' }, 'origin request failed', 'origin:a');
    warn.warn({ service: 'b' }, 'origin request failed', 'origin:b'); // another key: its own line
    expect(lines).toHaveLength(2);
    now = 10_000;
    warn.warn({ service: 'a' }, 'origin request failed', 'origin:a');
    expect(lines).toHaveLength(3);
    expect(lines[2]?.obj).toEqual({ service: 'a', suppressedSinceLast: 4 });
  });
});
