/**
 * @module Starts a redis-server of our own on a free loopback port, with infra/redis.conf (so tests
 * and local runs use the production eviction policy) and nothing persisted. Used by the test
 * harness and by `serve` when the config allows a local fallback.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redisReachable } from './connect.js';

export const REDIS_CONF = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'infra', 'redis.conf');

export interface LocalRedis {
  host: string;
  port: number;
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** The redis-server binary on PATH (or REDIS_SERVER_BIN), or undefined. */
export function findRedisServer(): string | undefined {
  const candidate = process.env.REDIS_SERVER_BIN ?? 'redis-server';
  const probe = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? candidate : undefined;
}

export const INSTALL_HINT =
  'redis-server is not installed. On Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y redis-server ' +
  '(or set REDIS_URL to a Redis you run).';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function waitForPing(port: number, deadline: number, child: ChildProcess): Promise<void> {
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
    if (await redisReachable(`redis://127.0.0.1:${port}`, 500)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('redis-server did not answer PING in time');
}

export interface StartOptions {
  /** Extra `--option value` pairs, e.g. ['--maxmemory', '2mb']. */
  args?: string[];
  timeoutMs?: number;
  /** A fixed port (to restart a server where clients expect it); a free one otherwise. */
  port?: number;
  /** A configuration file instead of infra/redis.conf. */
  config?: string;
}

export async function startLocalRedis(options: StartOptions = {}): Promise<LocalRedis> {
  const bin = findRedisServer();
  if (!bin) throw new Error(INSTALL_HINT);
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = options.port ?? (await freePort());
    const dir = mkdtempSync(join(tmpdir(), 'cachefront-redis-'));
    const conf = options.config ? [options.config] : existsSync(REDIS_CONF) ? [REDIS_CONF] : [];
    const child = spawn(
      bin,
      [
        ...conf,
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        ...(options.args ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout?.on('data', (d: Buffer) => {
      output = (output + d.toString()).slice(-4000);
    });
    child.stderr?.on('data', (d: Buffer) => {
      output = (output + d.toString()).slice(-4000);
    });
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    };
    try {
      await waitForPing(port, Date.now() + (options.timeoutMs ?? 10_000), child);
      return { host: '127.0.0.1', port, url: `redis://127.0.0.1:${port}`, process: child, stop };
    } catch (error) {
      await stop();
      lastError = new Error(`${(error as Error).message}\n${output}`);
      if (!/Address already in use/.test(output)) break;
    }
  }
  throw lastError;
}
