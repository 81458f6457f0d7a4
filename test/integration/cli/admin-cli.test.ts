/**
 * `cachefront list|purge|explain|stats` as a user runs them: the real binary, against a real
 * admin listener in front of a real edge, with the token from the environment.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { OPERATOR_TOKEN, startAdmin } from '../../helpers/admin.js';
import { runCli } from '../../helpers/cli.js';
import { startEdge, test } from '../../helpers/fixtures.js';

const run = runCli;

describe('cachefront admin commands', () => {
  test('list, purge, explain and stats over the admin API', async ({ redis, origin }) => {
    const edge = await startEdge(redis.url, origin.url, {
      config: { admin: { tokens: { operator: [OPERATOR_TOKEN] } } },
    });
    const admin = await startAdmin(edge);
    const env = { CACHEFRONT_ADMIN_URL: admin.url, CACHEFRONT_ADMIN_TOKEN: OPERATOR_TOKEN };
    try {
      for (const path of ['/docs/a', '/docs/b', '/blog/c']) await edge.get(path);

      const table = await run(['list', edge.service, '--prefix', '/docs/'], env);
      expect(table.stderr).toBe('');
      expect(table.code).toBe(0);
      const lines = table.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^SIZE\s+TYPE\s+STATUS\s+HITS\s+STATE\s+STORED \(UTC\)\s+REPRESENTATIONS\s+URL$/);
      expect(
        lines
          .slice(1)
          .map((l) => l.split(/\s+/).at(-1))
          .sort(),
      ).toEqual([`${edge.host}/docs/a`, `${edge.host}/docs/b`]);
      // Sizes a person reads, and what is stored of each object.
      expect(lines[1]).toMatch(
        /^\d+ B\s+text\/plain\s+200\s+0\s+fresh\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+identity \d+ B\s/,
      );

      const json = await run(['list', edge.service, '--limit', '1', '--all-pages', '--json', '--min-size', '1B'], env);
      const pages = json.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(pages.length).toBe(3);
      expect(pages.flatMap((p) => p.items).length).toBe(3);

      const dry = await run(['purge', edge.service, '--prefix', '/docs/', '--dry-run'], env);
      expect(JSON.parse(dry.stdout)).toMatchObject({ purged: 2, dryRun: true });
      const purged = await run(['purge', edge.service, '--prefix', '/docs/'], env);
      expect(JSON.parse(purged.stdout)).toMatchObject({ purged: 2, dryRun: false });
      expect((await edge.get('/docs/a')).headers['x-cache-status']).toBe('Miss');
      expect((await edge.get('/blog/c')).headers['x-cache-status']).toBe('Hit');

      const one = await run(['purge', '--url', `http://${edge.host}/blog/c`, '--soft'], env);
      expect(JSON.parse(one.stdout)).toMatchObject({ purged: 1, soft: true });

      const explained = await run(
        ['explain', `http://${edge.host}/docs/a?utm_source=x`, '-H', 'Accept-Encoding: gzip'],
        env,
      );
      expect(JSON.parse(explained.stdout)).toMatchObject({ service: edge.service, originTarget: '/docs/a' });

      const stats = await run(['stats', edge.service, '--json'], env);
      expect(JSON.parse(stats.stdout)).toMatchObject({ service: edge.service, purges: 3 });
      const summary = await run(['stats', edge.service], env);
      expect(summary.stdout).toContain(`${edge.service}\n`);
      expect(summary.stdout).toMatch(/stored\s+2 objects, \d+ B/); // /docs/a fetched again after the purge
      expect(summary.stdout).toMatch(/removed\s+0 evictions, 3 purges/);
      expect(summary.stdout).toMatch(/origin\s+healthy \(circuit closed\)/);

      // Token from a file works; the API's refusals come through with their codes and status 1.
      const dir = mkdtempSync(join(tmpdir(), 'cachefront-token-'));
      writeFileSync(join(dir, 'token'), `${OPERATOR_TOKEN}\n`);
      const fromFile = await run(['stats', edge.service, '--token-file', join(dir, 'token')], {
        CACHEFRONT_ADMIN_URL: admin.url,
      });
      expect(fromFile.code).toBe(0);
      // The development token file (what `npm start` writes) is read when nothing else is given.
      const fromDevFile = await run(['stats', edge.service], {
        CACHEFRONT_ADMIN_URL: admin.url,
        CACHEFRONT_ADMIN_TOKEN_FILE: join(dir, 'token'),
      });
      expect(fromDevFile.code).toBe(0);
      const denied = await run(['stats', edge.service], { CACHEFRONT_ADMIN_URL: admin.url });
      expect(denied.code).toBe(1);
      expect(denied.stderr).toContain('CF_ERR_ADMIN_UNAUTHENTICATED');
      expect(denied.stderr).toContain('set CACHEFRONT_ADMIN_TOKEN, pass --token-file FILE');
      const bad = await run(['list', edge.service, '--type', 'image'], env);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('CF_ERR_ADMIN_BAD_INPUT');
      // Usage errors are caught before any request.
      const usage = await run(['purge', edge.service, '--all', '--tag', 'x'], env);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain('exactly one of --url, --all or filter options');
      const down = await run(['stats', edge.service], { ...env, CACHEFRONT_ADMIN_URL: 'http://127.0.0.1:1' });
      expect(down.code).toBe(1);
      expect(down.stderr).toContain('cannot reach the admin API');
    } finally {
      await admin.close();
      await edge.close();
    }
  }, 120_000); // a dozen runs of the real binary, each a Node start (through tsx in a fresh checkout)
});
