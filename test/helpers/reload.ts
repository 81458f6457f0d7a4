/** Configuration files and origins for the reload tests. */
import { Redis } from 'ioredis';
import { CATALOG_KEYS } from '../../src/store/keys.js';
import { OPERATOR_TOKEN } from './admin.js';
import { startOrigin, type TestOrigin } from './origin.js';
import type { TestRedis } from './redis.js';

/** An origin that says who it is, never cacheable: every request shows which origin answered. */
export function namedOrigin(name: string): Promise<TestOrigin> {
  return startOrigin((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
    res.end(`${name} ${req.url}`);
  });
}

export interface ServiceLine {
  id: string;
  host: string;
  origin: string;
}

/** A configuration file's text: the listeners, the Redis, an operator token and the services. */
export function configText(ports: { edge: number; admin: number }, redisUrl: string, services: ServiceLine[]): string {
  return (
    `edge: { listen: { host: 127.0.0.1, port: ${ports.edge} } }\n` +
    `admin: { listen: { port: ${ports.admin} }, tokens: { operator: ["${OPERATOR_TOKEN}"] } }\n` +
    `redis: { url: "${redisUrl}" }\nservices:\n` +
    services.map((s) => `  - { id: ${s.id}, hosts: [${s.host}], origin: { url: "${s.origin}" } }\n`).join('')
  );
}

/**
 * The test Redis at database `db`, its catalog emptied: catalog keys are fleet-wide, so each file
 * using them takes a database of its own (nothing else shares it, even on one REDIS_URL).
 */
export async function catalogRedis(redis: TestRedis, db: number): Promise<string> {
  const url = new URL(redis.url);
  url.pathname = `/${db}`;
  const client = new Redis(url.toString(), { maxRetriesPerRequest: 1 });
  try {
    await client.del(...Object.values(CATALOG_KEYS));
  } finally {
    client.disconnect();
  }
  return url.toString();
}
