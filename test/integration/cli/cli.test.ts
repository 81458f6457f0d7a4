import { spawnSync } from 'node:child_process';
import { describe, expect } from 'vitest';
import { test } from '../../helpers/fixtures.js';
import { send } from '../../helpers/http.js';
import { BIN, freePort, runServe, writeConfig } from '../../helpers/serve.js';
import { waitFor } from '../../helpers/wait.js';

describe('the cachefront command', () => {
  test('check-config accepts the example and lists every error of a bad file', () => {
    const ok = spawnSync(process.execPath, [BIN, 'check-config', 'examples/cachefront.yaml'], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('valid');
    const bad = writeConfig(
      'services:\n  - id: BAD\n    hosts: []\n    origin: { url: "ftp://x" }\n    colour: blue\n',
    );
    const res = spawnSync(process.execPath, [BIN, 'check-config', bad], { encoding: 'utf8' });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('services.0.id:');
    expect(res.stderr).toContain('services.0.hosts:');
    expect(res.stderr).toContain('services.0.origin.url:');
    expect(res.stderr).toContain('colour');
  });

  test('--help on each command, and a clear error for unknown ones', () => {
    for (const args of [['--help'], ['serve', '--help'], ['check-config', '--help']]) {
      const res = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
      expect(res.status, args.join(' ')).toBe(0);
      expect(res.stdout).toMatch(/^Usage: cachefront/);
    }
    const unknown = spawnSync(process.execPath, [BIN, 'frobnicate'], { encoding: 'utf8' });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const badFlag = spawnSync(process.execPath, [BIN, 'serve', '--colour'], { encoding: 'utf8' });
    expect(badFlag.status).toBe(2);
  });

  test('serve runs an edge on the configured Redis and stops cleanly on SIGTERM', async ({ redis, origin }) => {
    const [edgePort, adminPort] = [await freePort(), await freePort()];
    const file = writeConfig(
      `edge: { listen: { host: 127.0.0.1, port: ${edgePort} } }\nadmin: { listen: { port: ${adminPort} } }\n` +
        `redis: { url: "${redis.url}" }\nservices:\n  - id: cli-test\n    hosts: [cli.test]\n    origin: { url: "${origin.url}" }\n`,
    );
    const serve = await runServe(file, adminPort);
    const url = `http://127.0.0.1:${edgePort}`;
    expect((await send(url, { path: '/x', headers: { host: 'cli.test' } })).headers['x-cache-status']).toBe('Miss');
    expect((await send(url, { path: '/x', headers: { host: 'cli.test' } })).headers['x-cache-status']).toBe('Hit');
    expect((await send(`http://127.0.0.1:${adminPort}`, { path: '/readyz' })).status).toBe(200);
    expect(await serve.stop()).toBe(0);
  });

  test('SIGTERM lets in-flight responses finish, cuts those past the grace, and exits 0', async ({ redis, origin }) => {
    let answerSlow: () => void = () => undefined;
    const slowMayAnswer = new Promise<void>((resolve) => {
      answerSlow = resolve;
    });
    origin.handle(async (req, res) => {
      if (req.url === '/hang') return; // never answers
      await slowMayAnswer; // answers only once the edge is shutting down: in flight at SIGTERM
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('slow but complete');
    });
    const [edgePort, adminPort] = [await freePort(), await freePort()];
    const file = writeConfig(
      `edge: { listen: { host: 127.0.0.1, port: ${edgePort} }, shutdownGraceMs: 1500 }
admin: { listen: { port: ${adminPort} } }
` +
        `redis: { url: "${redis.url}" }
services:
  - id: drain-test
    hosts: [drain.test]
    origin: { url: "${origin.url}", responseTimeoutMs: 60s }
`,
    );
    const serve = await runServe(file, adminPort);
    const url = `http://127.0.0.1:${edgePort}`;
    const slow = send(url, { path: '/slow', headers: { host: 'drain.test' } });
    const hung = send(url, { path: '/hang', headers: { host: 'drain.test' } }).then(
      () => 'answered',
      () => 'cut',
    );
    await waitFor(() => origin.requests.length === 2, 'both requests to reach the origin');
    const exited = serve.stop();
    await waitFor(
      () => serve.output().includes('stopping: finishing in-flight requests'),
      'the edge to start draining',
    );
    answerSlow();
    const done = await slow;
    expect(done.status).toBe(200);
    expect(done.text).toBe('slow but complete');
    expect(await hung).toBe('cut'); // past shutdownGraceMs its connection is closed
    expect(await exited).toBe(0);
    expect(serve.output()).toContain('stopping: finishing in-flight requests');
  });

  test('with no Redis and no redis-server, the example fallback runs on the embedded store, loudly', async ({
    origin,
  }) => {
    const [edgePort, adminPort] = [await freePort(), await freePort()];
    const file = writeConfig(
      `edge: { listen: { host: 127.0.0.1, port: ${edgePort} } }\nadmin: { listen: { port: ${adminPort} } }\n` +
        `redis: { url: "redis://127.0.0.1:1", fallback: local-or-embedded }\n` +
        `services:\n  - id: cli-embedded\n    hosts: [emb.test]\n    origin: { url: "${origin.url}" }\n`,
    );
    const serve = await runServe(file, adminPort, { REDIS_SERVER_BIN: '/nonexistent/redis-server' });
    const url = `http://127.0.0.1:${edgePort}`;
    await send(url, { path: '/e', headers: { host: 'emb.test' } });
    expect((await send(url, { path: '/e', headers: { host: 'emb.test' } })).headers['x-cache-status']).toBe('Hit');
    expect(serve.output()).toContain('EMBEDDED IN-PROCESS STORE');
    expect(await serve.stop()).toBe(0);
  });

  test('with no Redis and fallback "none", serve refuses to start', async () => {
    const file = writeConfig(
      'redis: { url: "redis://127.0.0.1:1" }\nservices:\n  - id: x\n    hosts: [x.test]\n    origin: { url: "http://127.0.0.1:1" }\n',
    );
    const res = spawnSync(process.execPath, [BIN, 'serve', '--config', file], {
      encoding: 'utf8',
      env: { ...process.env, REDIS_URL: '' },
    });
    expect(res.status).toBe(1);
    expect(res.stdout + res.stderr).toContain('refusing to start');
  });
});
