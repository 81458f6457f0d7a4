/**
 * A purge always wins over a fill that began before it: the origin's answer to a fetch sent before
 * the purge may be the old content, so it goes to those who asked before the purge — never to a
 * request made after it, which does not join that fill — and is never stored. For a purge by URL,
 * by filter, and of the whole service (soft), through the admin API.
 */
import { describe, expect } from 'vitest';
import { OPERATOR_TOKEN, startAdmin } from '../../helpers/admin.js';
import { startEdge, test } from '../../helpers/fixtures.js';
import { stream } from '../../helpers/http.js';
import { gate, waitFor } from '../../helpers/wait.js';

const PURGES = [
  ['the URL', (url: string) => ({ url })],
  ['a filter', () => ({ filter: { prefix: '/pa' } })],
  ['the whole service, softly', () => ({ all: true, soft: true })],
] as const;

describe('a purge racing a fill', () => {
  for (const [name, body] of PURGES) {
    test(`purging ${name} while the origin answers leaves nothing stored of the old answer`, async ({
      redis,
      origin,
    }) => {
      const edge = await startEdge(redis.url, origin.url, {
        config: { admin: { tokens: { operator: [OPERATOR_TOKEN] } } },
      });
      const admin = await startAdmin(edge);
      try {
        let version = 1;
        const answer = gate();
        origin.handle(async (_req, res) => {
          const mine = version;
          if (mine === 1) await answer.opened;
          res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600' });
          res.end(`version ${mine}`);
        });
        const first = stream(edge.url, edge.host, '/page');
        await waitFor(() => origin.requests.length === 1, 'the fill to reach the origin');
        // The site changes, the operator purges, and only then the origin's old answer arrives.
        version = 2;
        const purged = await admin.call('POST', `/v1/services/${edge.service}/purge`, body(`http://${edge.host}/page`));
        expect(purged.status).toBe(200);
        // Asked after the purge, while the fill sent before it is still under way: not joined to it.
        const second = await edge.get('/page');
        expect(second.text).toBe('version 2');
        answer.open();
        expect(await (await first).body).toBe('version 1');
        // The fill after the purge is stored as usual; the one from before never.
        await waitFor(async () => (await edge.get('/page')).headers['x-cache-status'] === 'Hit', 'version 2 stored');
        expect((await edge.get('/page')).text).toBe('version 2');
        expect(origin.requests).toHaveLength(2);
      } finally {
        await admin.close();
        await edge.close();
      }
    });
  }
});
