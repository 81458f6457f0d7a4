/** An admin listener over a test edge's config and store, and a JSON client for it. */
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { buildAdmin } from '../../src/admin/server.js';
import type { TestEdge } from './fixtures.js';
import { send } from './http.js';

export const OPERATOR_TOKEN = 'operator-token-0123456789';

export interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test answers are checked field by field
  json: any;
}

export interface TestAdmin {
  url: string;
  call(method: string, path: string, body?: unknown, token?: string): Promise<Answer>;
  close(): Promise<void>;
}

export async function startAdmin(edge: TestEdge, logLines?: Record<string, unknown>[]): Promise<TestAdmin> {
  const logger = logLines
    ? pino(
        { level: 'info' },
        { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) },
      )
    : undefined;
  const admin = buildAdmin({
    config: edge.config,
    store: edge.store,
    storeReady: async () => true,
    storeKind: 'redis',
    ...(logger ? { logger } : {}),
  });
  await admin.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(admin.server.address() as AddressInfo).port}`;
  return {
    url,
    async call(method, path, body, token = OPERATOR_TOKEN) {
      const res = await send(url, {
        method,
        path,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
      });
      return { status: res.status, json: res.text === '' ? undefined : JSON.parse(res.text) };
    },
    close: () => admin.close(),
  };
}
