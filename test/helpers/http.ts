/** A plain node:http client for tests: full control of Host and every other header. */
import { type Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface Sent {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export interface SendOptions {
  method?: string;
  path?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  agent?: Agent;
}

export function send(baseUrl: string, options: SendOptions = {}): Promise<Sent> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: options.method ?? 'GET',
        path: options.path ?? '/',
        headers: options.headers ?? {},
        agent: options.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface Streamed {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Promise<string>;
  /** The first body chunk, as text, once it has arrived. */
  firstByte: Promise<string>;
}

/** A GET whose first body bytes and completion can be awaited separately (resolves at the head). */
export function stream(
  url: string,
  host: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<Streamed> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, headers: { host, ...headers }, agent: false }, (res) => {
      let text = '';
      let markFirst: (chunk: string) => void = () => undefined;
      const firstByte = new Promise<string>((r) => {
        markFirst = r;
      });
      const body = new Promise<string>((done, fail) => {
        res.on('data', (d: Buffer) => {
          if (text === '') markFirst(d.toString());
          text += d.toString();
        });
        res.on('end', () => done(text));
        res.on('error', fail);
      });
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body, firstByte });
    });
    req.on('error', reject);
    req.end();
  });
}
