/**
 * Reloads in a loop while a load generator runs against `cachefront serve` (two workers): not one
 * request fails, each reload is answered within a second, and every request made after a reload's
 * answer (and done before the next reload) sees the new configuration (the shop's origin alternates).
 */
import { writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { describe, expect } from 'vitest';
import { OPERATOR_TOKEN } from '../../helpers/admin.js';
import { test } from '../../helpers/fixtures.js';
import { send } from '../../helpers/http.js';
import { configText, namedOrigin } from '../../helpers/reload.js';
import { freePort, runServe, writeConfig } from '../../helpers/serve.js';
import { waitFor } from '../../helpers/wait.js';

const RELOADS = 12;
/** Clients of the load generator: half keep their connections alive, half open one per request. */
const CLIENTS = 6;

interface Done {
  started: number;
  ended: number;
  origin: string;
}

describe('reloading under load', () => {
  test('0 failed requests; the new configuration for every request after each reload', async ({ redis }) => {
    const origins = await Promise.all(['a', 'b'].map(namedOrigin));
    const ports = { edge: await freePort(), admin: await freePort() };
    const fileFor = (n: number) =>
      configText(ports, redis.url, [
        { id: 'shop', host: 'shop.test', origin: (origins[n % 2] as { url: string }).url },
      ]);
    const file = writeConfig(fileFor(0));
    const serve = await runServe(file, ports.admin, {}, 2);
    const edge = `http://127.0.0.1:${ports.edge}`;
    const done: Done[] = [];
    const failures: string[] = [];
    let running = true;
    const clients = Array.from({ length: CLIENTS }, async (_, c) => {
      const agent = c % 2 === 0 ? new Agent({ keepAlive: true, maxSockets: 1 }) : undefined;
      for (let n = 0; running; n++) {
        const started = performance.now();
        try {
          const answer = await send(edge, {
            path: `/c${c}/${n}`,
            headers: { host: 'shop.test' },
            ...(agent ? { agent } : {}),
          });
          if (answer.status !== 200) failures.push(`${answer.status} ${answer.text}`);
          else done.push({ started, ended: performance.now(), origin: answer.text.split(' ')[0] as string });
        } catch (error) {
          failures.push(String(error));
        }
      }
      agent?.destroy();
    });
    const answered: { sent: number; at: number; origin: string }[] = [];
    try {
      await waitFor(() => done.length > 100, 'the load to run');
      for (let n = 1; n <= RELOADS; n++) {
        writeFileSync(file, fileFor(n));
        const sent = performance.now();
        const res = await fetch(`http://127.0.0.1:${ports.admin}/v1/reload`, {
          method: 'POST',
          headers: { authorization: `Bearer ${OPERATOR_TOKEN}` },
        });
        const at = performance.now();
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({ reloaded: true, processes: 2, applied: 2 });
        answered.push({ sent, at, origin: n % 2 === 0 ? 'a' : 'b' });
        const before = done.length;
        await waitFor(() => done.length > before + 30, 'load after the reload');
      }
    } finally {
      running = false;
      await Promise.all(clients);
      expect(await serve.stop()).toBe(0);
      await Promise.all(origins.map((o) => o.close()));
    }
    expect(failures).toEqual([]);
    for (const [i, reload] of answered.entries()) {
      expect(reload.at - reload.sent, `reload ${i + 1} answered within a second`).toBeLessThan(1000);
      // Requests wholly between this reload's answer and the next one's request (one that ends
      // after the next reload began may rightly have been handled by it).
      const next = answered[i + 1]?.sent ?? Number.POSITIVE_INFINITY;
      const after = done.filter((d) => d.started > reload.at && d.ended < next);
      expect(after.length).toBeGreaterThan(0);
      expect(
        after.filter((d) => d.origin !== reload.origin),
        `after reload ${i + 1}`,
      ).toEqual([]);
    }
  });
});
