/**
 * A real origin HTTP server for tests: each test programs how it answers and reads back every
 * request it received (method, URL, headers, body).
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

export type OriginHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  recorded: RecordedRequest,
) => void | Promise<void>;

export interface TestOrigin {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Replace how the origin answers. */
  handle(handler: OriginHandler): void;
  /** Requests for one path (query included). */
  requestsFor(url: string): RecordedRequest[];
  close(): Promise<void>;
}

export const defaultHandler: OriginHandler = (req, res) => {
  const body = `origin says hello to ${req.url}`;
  res.writeHead(200, {
    'content-type': 'text/plain',
    'cache-control': 'max-age=60',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
};

export async function startOrigin(handler: OriginHandler = defaultHandler): Promise<TestOrigin> {
  let current = handler;
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
      };
      requests.push(recorded);
      Promise.resolve(current(req, res, recorded)).catch((error) => {
        res.destroy(error as Error);
      });
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    handle: (h) => {
      current = h;
    },
    requestsFor: (url) => requests.filter((r) => r.url === url),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
