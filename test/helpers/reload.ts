/** Configuration files and origins for the reload tests. */
import { OPERATOR_TOKEN } from './admin.js';
import { startOrigin, type TestOrigin } from './origin.js';

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
