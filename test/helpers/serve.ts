/** Runs the real `cachefront` binary for the CLI tests: free ports, config files, `serve` children. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { send } from './http.js';
import { waitFor } from './wait.js';

export const BIN = join(process.cwd(), 'bin', 'cachefront.mjs');

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export function writeConfig(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'cachefront-cli-')), 'config.yaml');
  writeFileSync(file, text);
  return file;
}

async function waitForEdge(url: string, child: ChildProcess, output: () => string): Promise<void> {
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`serve exited early:\n${output()}`);
      return send(url, { path: '/healthz' }).then(
        () => true,
        () => false,
      );
    },
    `serve to start (output so far: ${output()})`,
    { timeoutMs: 20_000, intervalMs: 50 },
  );
}

/** `cachefront serve` as a child process, once its admin listener answers. */
export async function runServe(configFile: string, adminPort: number, env: Record<string, string> = {}, workers = 1) {
  const child = spawn(process.execPath, [BIN, 'serve', '--config', configFile, '--workers', String(workers)], {
    env: { ...process.env, REDIS_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  await waitForEdge(`http://127.0.0.1:${adminPort}`, child, () => output);
  return {
    pid: child.pid as number,
    output: () => output,
    stop: async () => {
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      return exited;
    },
  };
}
