/** What the benchmarks share: free ports, waiting for a server, and running wrk. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * One GET with full control of the headers (fetch would not send our Host): resolves with the
 * status once the body is read.
 */
export function get(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Resolves once `url` answers (any status), polling for up to 15 s. */
export async function waitUntilUp(url: string, headers: Record<string, string> = {}): Promise<number> {
  for (let i = 0; i < 300; i++) {
    try {
      return await get(url, headers);
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${url} did not come up`);
}

export interface WrkResult {
  rps: number;
  p50ms: number;
  p99ms: number;
  requests: number;
  errors: string | undefined;
}

function toMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(value.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

export interface WrkOptions {
  host: string;
  connections: number;
  seconds: number;
  extra?: string[];
}

export async function wrk(url: string, options: WrkOptions): Promise<WrkResult> {
  const { stdout } = await run(
    'wrk',
    [
      '-t2',
      `-c${options.connections}`,
      `-d${options.seconds}s`,
      '--latency',
      '-H',
      `Host: ${options.host}`,
      ...(options.extra ?? []),
      url,
    ],
    { maxBuffer: 1 << 20 },
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
  const p50 = /\s50%\s+([\d.]+\w+)/.exec(stdout)?.[1] ?? '';
  const p99 = /\s99%\s+([\d.]+\w+)/.exec(stdout)?.[1] ?? '';
  const errors = /(Socket errors:.*|Non-2xx or 3xx responses:.*)/.exec(stdout)?.[1];
  return { rps, p50ms: toMs(p50), p99ms: toMs(p99), requests, errors };
}

/** What a benchmark leaves running: stopped when it ends, killed when it fails. */
const CLOCK_TICK_SECONDS = 0.01; // USER_HZ on Linux

/** A process and every descendant of it (workers of a primary, nginx's and varnishd's children). */
export function processTree(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(parents.get(tree[i] as number) ?? []));
  return tree;
}

/** User + system CPU seconds a process has used. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_SECONDS;
  } catch {
    return 0;
  }
}

export function rssMiB(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return Number(kb ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** CPU seconds a process and all its descendants have used so far (read before and after a run). */
export function treeCpuSeconds(root: number): number {
  return processTree(root).reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

export interface Leftovers {
  children: ChildProcess[];
  redis?: { stop(): Promise<void> } | undefined;
  dir?: string | undefined;
}

/** Runs a benchmark's main, then stops what it started; on failure prints why and exits 1. */
/** SIGTERM, then SIGKILL if the child has not exited within 10 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export function runBenchmark(main: () => Promise<void>, left: Leftovers): void {
  const cleanUp = async () => {
    // The edges go first, Redis once they have exited (they would otherwise reconnect to a
    // stopping Redis while they drain).
    await Promise.all(left.children.map(stopChild));
    await left.redis?.stop();
    if (left.dir) rmSync(left.dir, { recursive: true, force: true });
  };
  main()
    .then(cleanUp)
    .catch(async (error: unknown) => {
      console.error(error);
      for (const child of left.children) child.kill('SIGKILL');
      await left.redis?.stop().catch(() => undefined);
      process.exit(1);
    });
}

/**
 * nginx from one of bench/'s templates, in `dir` (its -p prefix): the port, the origin, the
 * directory and, as root, `user root` (its workers would otherwise run as "nobody" and could not
 * write to the temp dir) filled in, and any other text replaced as `replace` says.
 */
export function startNginx(
  template: string,
  options: { dir: string; port: number; origin: string; replace?: Record<string, string> },
): ChildProcess {
  let conf = readFileSync(join(import.meta.dirname, template), 'utf8')
    .replaceAll('__PORT__', String(options.port))
    .replaceAll('__ORIGIN__', options.origin)
    .replaceAll('__DIR__', options.dir)
    .replace('__USER__', process.getuid?.() === 0 ? 'user root;' : '');
  for (const [from, to] of Object.entries(options.replace ?? {})) conf = conf.replaceAll(from, to);
  writeFileSync(join(options.dir, 'nginx.conf'), conf);
  return spawn('nginx', ['-c', join(options.dir, 'nginx.conf'), '-p', options.dir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** `cachefront serve` (from dist/, as an operator runs it); its log lines (the access log, when on) go to `stdout` (a file descriptor) or nowhere. */
export function startServe(configFile: string, env: NodeJS.ProcessEnv = {}, stdout?: number): ChildProcess {
  const bin = join(import.meta.dirname, '..', 'bin', 'cachefront.mjs');
  return spawn(process.execPath, [bin, 'serve', '--config', configFile], {
    env: { ...process.env, LOG_LEVEL: 'error', ...env },
    stdio: ['ignore', stdout ?? 'ignore', 'inherit'],
  });
}
