/** Every rule docs/rules.md shows is one the schema accepts: the worked examples cannot rot. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../../src/config/load.js';

const blocks = [...readFileSync('docs/rules.md', 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map(
  (m) => m[1] as string,
);

/** A block is a whole configuration, a `rules:` key, or a list of rules. */
function rulesOf(block: string): unknown[] {
  const doc = parse(block) as unknown;
  if (Array.isArray(doc)) return doc;
  const value = doc as { rules?: unknown[]; services?: { rules?: unknown[] }[] };
  return value.rules ?? value.services?.flatMap((s) => s.rules ?? []) ?? [];
}

describe('docs/rules.md', () => {
  it('has worked examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(7);
  });

  it.each(blocks.map((block, i) => [i, block] as const))('example %i validates', (_i, block) => {
    const rules = rulesOf(block);
    expect(rules.length).toBeGreaterThan(0);
    const config = parseConfig(
      { services: [{ id: 'shop', hosts: ['shop.example'], origin: { url: 'https://o.example' }, rules }] },
      'docs/rules.md',
      {},
    );
    expect(config.services[0]?.rules).toHaveLength(rules.length);
  });
});
