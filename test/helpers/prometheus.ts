/** A real Prometheus on loopback for the dashboard tests: started on given scrape targets, queried over HTTP. */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { send } from './http.js';
import { waitFor } from './wait.js';

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A condition that may throw while a server is still starting counts as not yet met. */
export const until = (check: () => Promise<boolean>, what: string, timeoutMs = 30_000) =>
  waitFor(() => check().catch(() => false), what, { timeoutMs, intervalMs: 200 });

/** Resolves once the child has exited (at once if it already has). */
export const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once('exit', () => resolve()));

export interface TestPrometheus {
  url: string;
  child: ChildProcess;
  /** The first value an instant query returns (NaN when none). */
  value(expr: string): Promise<number>;
  /** Waits for a scrape after `since` (s) and two in the last minute (what a rate needs). */
  scraped(since: number): Promise<void>;
}

export async function startPrometheus(dir: string, targets: string[]): Promise<TestPrometheus> {
  const port = await freePort();
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 1s, evaluation_interval: 1s }\nscrape_configs:\n  - job_name: cachefront\n    static_configs:\n      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]\n`,
  );
  const child = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}`;
  const value = async (expr: string) => {
    const res = await send(url, { path: `/api/v1/query?query=${encodeURIComponent(expr)}` });
    return Number(JSON.parse(res.text).data?.result?.[0]?.value?.[1]);
  };
  return {
    url,
    child,
    value,
    scraped: async (since) => {
      await until(
        async () =>
          (await value('min(timestamp(up))')) >= since + 1 && (await value('min(count_over_time(up[1m]))')) >= 2,
        'two scrapes of every target, one after the traffic',
      );
    },
  };
}

interface Panel {
  title: string;
  targets?: { expr: string }[];
}

/** Evaluates every panel expression of a dashboard file: the failures, and how many were checked. */
export async function evaluatePanels(
  promUrl: string,
  file: string,
  dashboard: { panels: Panel[] },
  substitute: (expr: string) => string,
): Promise<{ failures: string[]; checked: number }> {
  const failures: string[] = [];
  let checked = 0;
  for (const panel of dashboard.panels) {
    for (const target of panel.targets ?? []) {
      const expr = substitute(target.expr.replaceAll('$__rate_interval', '1m'));
      const res = await send(promUrl, { path: `/api/v1/query?query=${encodeURIComponent(expr)}` });
      const body = JSON.parse(res.text) as { status: string; error?: string; data?: { result: unknown[] } };
      const where = `${file} / ${panel.title}: ${expr}`;
      if (body.status !== 'success') failures.push(`${where} → ${body.error}`);
      else if ((body.data?.result.length ?? 0) === 0) failures.push(`${where} returned nothing`);
      checked++;
    }
  }
  return { failures, checked };
}
