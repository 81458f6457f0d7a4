/**
 * `cachefront serve` with two workers, its file changed while it runs: SIGHUP and `cachefront
 * reload` apply it to every worker (a new service served, a removed one's host 421, a changed
 * origin taking the new requests); a file that does not validate is refused, logged with its path,
 * `cachefront reload` exits non-zero, and the running configuration stays.
 */
import { writeFileSync } from 'node:fs';
import { describe, expect } from 'vitest';
import { OPERATOR_TOKEN } from '../../helpers/admin.js';
import { runCli } from '../../helpers/cli.js';
import { test } from '../../helpers/fixtures.js';
import { send } from '../../helpers/http.js';
import { configText, namedOrigin } from '../../helpers/reload.js';
import { freePort, runServe, writeConfig } from '../../helpers/serve.js';
import { waitFor } from '../../helpers/wait.js';

describe('reloading a running cachefront serve', () => {
  test('SIGHUP and cachefront reload: every worker, or nothing when the file is wrong', async ({ redis }) => {
    const [first, second] = await Promise.all([namedOrigin('first'), namedOrigin('second')]);
    const ports = { edge: await freePort(), admin: await freePort() };
    const file = writeConfig(
      configText(ports, redis.url, [
        { id: 'shop', host: 'shop.test', origin: first.url },
        { id: 'old', host: 'old.test', origin: first.url },
      ]),
    );
    const serve = await runServe(file, ports.admin, {}, 2);
    const edge = `http://127.0.0.1:${ports.edge}`;
    const admin = { CACHEFRONT_ADMIN_URL: `http://127.0.0.1:${ports.admin}`, CACHEFRONT_ADMIN_TOKEN: OPERATOR_TOKEN };
    // Each on a new connection: the kernel spreads them over both workers.
    const answers = (host: string, n = 12) =>
      Promise.all(Array.from({ length: n }, (_, i) => send(edge, { path: `/p${i}`, headers: { host } })));
    try {
      expect((await answers('shop.test')).map((a) => a.text.split(' ')[0])).toEqual(Array(12).fill('first'));

      // SIGHUP: the shop moves to the second origin, "new" arrives, "old" goes.
      writeFileSync(
        file,
        configText(ports, redis.url, [
          { id: 'shop', host: 'shop.test', origin: second.url },
          { id: 'new', host: 'new.test', origin: first.url },
        ]),
      );
      process.kill(serve.pid, 'SIGHUP');
      await waitFor(
        async () => (await answers('shop.test')).every((a) => a.text.startsWith('second ')),
        'every worker to send the shop to its new origin',
      );
      expect((await answers('new.test')).map((a) => a.status)).toEqual(Array(12).fill(200));
      const gone = await answers('old.test');
      expect(gone.map((a) => a.status)).toEqual(Array(12).fill(421));
      // The primary says so once every worker has answered (after they started serving it).
      await waitFor(() => serve.output().includes('"msg":"configuration reloaded"'), 'the reload to be logged');

      // A broken file: refused with its path, and the running configuration stays.
      writeFileSync(file, configText(ports, redis.url, [{ id: 'Shop!', host: 'shop.test', origin: 'ftp://x' }]));
      process.kill(serve.pid, 'SIGHUP');
      await waitFor(() => serve.output().includes('configuration not reloaded'), 'the refusal to be logged');
      const refusal = serve
        .output()
        .split('\n')
        .find((line) => line.includes('configuration not reloaded')) as string;
      expect(JSON.parse(refusal)).toMatchObject({ path: file, code: 'CF_ERR_CONFIG_INVALID' });
      expect(refusal).toContain('services.0.id');
      const cli = await runCli(['reload'], admin);
      expect(cli.code).toBe(1);
      expect(cli.stderr).toContain('CF_ERR_CONFIG_INVALID');
      expect(cli.stderr).toContain(file);
      expect(cli.stderr).toContain('services.0.origin.url');
      expect((await answers('shop.test')).every((a) => a.text.startsWith('second '))).toBe(true);
      expect((await answers('new.test')).map((a) => a.status)).toEqual(Array(12).fill(200));

      // cachefront reload: answered once both workers run the file; the shop is back on the first origin.
      writeFileSync(file, configText(ports, redis.url, [{ id: 'shop', host: 'shop.test', origin: first.url }]));
      const reloaded = await runCli(['reload'], admin);
      expect(reloaded.code, reloaded.stderr).toBe(0);
      expect(JSON.parse(reloaded.stdout)).toMatchObject({
        reloaded: true,
        processes: 2,
        applied: 2,
        restartNeeded: [],
      });
      expect((await answers('shop.test')).map((a) => a.text.split(' ')[0])).toEqual(Array(12).fill('first'));
      expect((await answers('new.test')).map((a) => a.status)).toEqual(Array(12).fill(421));

      // A listener's port cannot move under a running process: applied otherwise, and said.
      writeFileSync(
        file,
        configText({ ...ports, edge: ports.edge + 1 }, redis.url, [
          { id: 'shop', host: 'shop.test', origin: first.url },
        ]),
      );
      const moved = await runCli(['reload'], admin);
      expect(JSON.parse(moved.stdout).restartNeeded).toEqual(['edge.listen']);
      expect((await answers('shop.test', 2)).map((a) => a.status)).toEqual([200, 200]);
    } finally {
      expect(await serve.stop()).toBe(0);
      await Promise.all([first.close(), second.close()]);
    }
  });
});
