/**
 * The admin API's boundaries: a service token never reads or purges another service, on every
 * endpoint; the CIDR allow-list; and the OpenAPI document that describes what the handlers accept.
 */
import { describe, expect } from 'vitest';
import { listResponse, purgeResponse, servicesResponse, statsResponse } from '../../../src/admin/schemas.js';
import { buildAdmin } from '../../../src/admin/server.js';
import { OPERATOR_TOKEN, startAdmin } from '../../helpers/admin.js';
import { newServiceId, startEdge, test } from '../../helpers/fixtures.js';
import { send } from '../../helpers/http.js';

const MINE = 'mine-token-0123456789abcdef';
const THEIRS = 'theirs-token-0123456789abcd';

describe('admin API: scopes, allow-list and OpenAPI', () => {
  test('a service token reaches its own service on every endpoint and no other', async ({ redis, origin }) => {
    const mine = newServiceId();
    const theirs = newServiceId();
    const edge = await startEdge(redis.url, origin.url, {
      serviceId: mine,
      config: {
        admin: { tokens: { operator: [OPERATOR_TOKEN], services: { [mine]: [MINE], [theirs]: [THEIRS] } } },
        services: [
          { id: mine, hosts: [`${mine}.test`], origin: { url: origin.url } },
          { id: theirs, hosts: [`${theirs}.test`], origin: { url: origin.url } },
        ],
      },
    });
    const admin = await startAdmin(edge);
    try {
      await edge.get('/page', { headers: { host: `${theirs}.test` } });
      await edge.get('/page', { headers: { host: `${mine}.test` } });
      const theirUrl = `http://${theirs}.test/page`;
      const myUrl = `http://${mine}.test/page`;
      /** [method, path, body] for an endpoint, aimed at a service's data. */
      const endpoints = (service: string, url: string): [string, string, unknown][] => [
        ['GET', `/v1/services/${service}/entries`, undefined],
        ['GET', `/v1/services/${service}/stats`, undefined],
        ['GET', `/v1/services/${service}/origin`, undefined],
        ['POST', `/v1/services/${service}/purge`, { all: true, dryRun: true }],
        ['POST', `/v1/services/${service}/purge`, { url, dryRun: true }],
        ['POST', `/v1/services/${service}/purge`, { filter: { prefix: '/' } }],
        ['POST', '/v1/purge', { url }],
        ['POST', '/v1/explain', { url }],
      ];
      for (const [method, path, body] of endpoints(theirs, theirUrl)) {
        const crossed = await admin.call(method, path, body, MINE);
        expect(crossed.status, `${method} ${path}`).toBe(403);
        expect(crossed.json.error.code).toBe('CF_ERR_ADMIN_FORBIDDEN');
        expect((await admin.call(method, path, body, '')).status, `${method} ${path} anonymous`).toBe(401);
      }
      // Their entry survived every attempt.
      expect((await edge.get('/page', { headers: { host: `${theirs}.test` } })).headers['x-cache-status']).toBe('Hit');
      // A service that does not exist looks the same as another's to a service token.
      expect((await admin.call('GET', '/v1/services/no-such-service/stats', undefined, MINE)).status).toBe(403);
      expect((await admin.call('GET', '/v1/services/no-such-service/stats')).status).toBe(404);

      for (const [method, path, body] of endpoints(mine, myUrl)) {
        expect((await admin.call(method, path, body, MINE)).status, `${method} ${path} own`).toBe(200);
      }
      const listed = await admin.call('GET', '/v1/services', undefined, MINE);
      expect(listed.json.services.map((s: { id: string }) => s.id)).toEqual([mine]);
      expect((await admin.call('GET', '/v1/services')).json.services.length).toBe(2);
    } finally {
      await admin.close();
      await edge.close();
    }
  });

  test('the CIDR allow-list closes the admin listener to other addresses', async ({ redis, origin }) => {
    for (const [allow, expected] of [
      [['10.0.0.0/8'], 403],
      [['127.0.0.0/8', '::1'], 200],
    ] as const) {
      const edge = await startEdge(redis.url, origin.url, {
        config: { admin: { allow, tokens: { operator: [OPERATOR_TOKEN] } } },
      });
      const admin = await startAdmin(edge);
      try {
        const res = await admin.call('GET', `/v1/services/${edge.service}/stats`);
        expect(res.status, allow.join()).toBe(expected);
        if (expected === 403) expect(res.json.error.code).toBe('CF_ERR_ADMIN_FORBIDDEN');
      } finally {
        await admin.close();
        await edge.close();
      }
    }
  });

  test('the OpenAPI document is served, covers every route, and describes real answers', async ({ redis, origin }) => {
    const edge = await startEdge(redis.url, origin.url, {
      config: { admin: { tokens: { operator: [OPERATOR_TOKEN] } } },
    });
    const admin = await startAdmin(edge);
    try {
      const doc = JSON.parse((await send(admin.url, { path: '/openapi.json' })).text);
      expect(doc.openapi).toBe('3.1.0');
      const list = doc.paths['/v1/services/{service}/entries'].get;
      expect(list.parameters.map((p: { name: string }) => p.name).sort()).toEqual(
        [
          'service',
          'type',
          'minSize',
          'maxSize',
          'prefix',
          'glob',
          'tag',
          'status',
          'storedAfter',
          'storedBefore',
          'minHits',
          'maxHits',
          'limit',
          'cursor',
        ].sort(),
      );
      const purgeBody = doc.paths['/v1/services/{service}/purge'].post.requestBody.content['application/json'].schema;
      expect(Object.keys(purgeBody.properties).sort()).toEqual(['all', 'dryRun', 'filter', 'soft', 'url']);
      expect(purgeBody.properties.filter.additionalProperties).toBe(false);

      // Real answers match the response schemas the document was generated from.
      await edge.get('/doc');
      listResponse.parse((await admin.call('GET', `/v1/services/${edge.service}/entries`)).json);
      statsResponse.parse((await admin.call('GET', `/v1/services/${edge.service}/stats`)).json);
      purgeResponse.parse((await admin.call('POST', `/v1/services/${edge.service}/purge`, { all: true })).json);
      servicesResponse.parse((await admin.call('GET', '/v1/services')).json);

      // A route left out of the document stops the listener from starting.
      const broken = buildAdmin({
        config: edge.config,
        store: edge.store,
        storeReady: async () => true,
        storeKind: 'redis',
      });
      broken.register(async (api) => api.get('/undocumented', async () => ({})), { prefix: '/v1' });
      await expect(broken.ready()).rejects.toThrow(/GET \/v1\/undocumented/);
    } finally {
      await admin.close();
      await edge.close();
    }
  });

  test('malformed JSON and unknown fields answer 400 with a stable code', async ({ redis, origin }) => {
    const edge = await startEdge(redis.url, origin.url, {
      config: { admin: { tokens: { operator: [OPERATOR_TOKEN] } } },
    });
    const admin = await startAdmin(edge);
    try {
      const res = await send(admin.url, {
        method: 'POST',
        path: '/v1/purge',
        body: '{"url": ',
        headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'application/json' },
      });
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text).error.code).toBe('CF_ERR_ADMIN_BAD_INPUT');
      const unknown = await admin.call('POST', '/v1/purge', { url: `http://${edge.host}/`, everything: true });
      expect(unknown.status).toBe(400);
      expect(unknown.json.error.message).toContain('everything');
    } finally {
      await admin.close();
      await edge.close();
    }
  });
});
