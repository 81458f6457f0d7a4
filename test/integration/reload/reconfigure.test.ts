/**
 * A worker's configuration swapped under load (EdgeApp.reconfigure, what a reload applies): no
 * request fails, a request under way finishes with the service it started with, a new service is
 * served at once, a changed origin gets the new requests, and a removed service's host gets 421.
 */
import { describe, expect } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { startEdge, test } from '../../helpers/fixtures.js';
import { send, stream } from '../../helpers/http.js';
import { startOrigin } from '../../helpers/origin.js';
import { gate, waitFor } from '../../helpers/wait.js';

describe('reconfiguring a running edge', () => {
  test('under load: 0 failed requests, the new services and origins at once', async ({ redis, origin }) => {
    const second = await startOrigin((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
      res.end(`second ${req.url}`);
    });
    const slow = gate();
    origin.handle(async (req, res) => {
      if (req.url === '/slow') await slow.opened;
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
      res.end(`first ${req.url}`);
    });
    const edge = await startEdge(redis.url, origin.url, { serviceId: 'shop' });
    const config = (services: unknown[]) => parseConfig({ services }, 'reload', {});
    const shop = (url: string) => ({ id: 'shop', hosts: [edge.host], origin: { url } });
    try {
      // A steady load on the shop while its configuration changes under it.
      let running = true;
      const failures: string[] = [];
      let answered = 0;
      const load = Array.from({ length: 4 }, async (_, worker) => {
        for (let n = 0; running; n++) {
          try {
            const answer = await edge.get(`/load/${worker}/${n}`);
            if (answer.status !== 200) failures.push(`${answer.status} ${answer.text}`);
            answered++;
          } catch (error) {
            failures.push(String(error));
          }
        }
      });
      const inFlight = stream(edge.url, edge.host, '/slow');
      await waitFor(() => origin.requests.some((r) => r.url === '/slow'), 'the slow request to reach the origin');

      // The shop moves to another origin, and a new service arrives.
      edge.app.reconfigure(
        config([shop(second.url), { id: 'news', hosts: ['news.test'], origin: { url: origin.url } }]),
      );
      expect((await edge.get('/after')).text).toBe('second /after');
      expect((await send(edge.url, { path: '/n', headers: { host: 'news.test' } })).text).toBe('first /n');
      // The request under way ends with the origin it started with.
      slow.open();
      const slowAnswer = await inFlight;
      expect(slowAnswer.status).toBe(200);
      expect(await slowAnswer.body).toBe('first /slow');
      await waitFor(() => answered > 50, 'load after the change');
      running = false;
      await Promise.all(load);
      expect(failures).toEqual([]);

      // The shop removed: its host is refused; the rest goes on.
      edge.app.reconfigure(config([{ id: 'news', hosts: ['news.test'], origin: { url: origin.url } }]));
      const refused = await edge.get('/gone');
      expect(refused.status).toBe(421);
      expect(refused.text).toContain('CF_ERR_UNKNOWN_SERVICE');
      expect((await send(edge.url, { path: '/n2', headers: { host: 'news.test' } })).status).toBe(200);
    } finally {
      await edge.close();
      await second.close();
    }
  });
});
