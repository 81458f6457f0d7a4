/**
 * An HTTP/2 client for tests, answering in the shape of http.ts's `send`: one TLS connection per
 * edge (ALPN h2, the test CA trusted, SNI the service's host), a stream per request. The Host
 * header becomes `:authority`, as browsers send it.
 */
import { type ClientHttp2Session, connect, constants } from 'node:http2';
import type { SendOptions, Sent } from './http.js';

export interface H2Client {
  send(options: SendOptions): Promise<Sent>;
  close(): Promise<void>;
}

export function h2Client(url: string, options: { ca: string; servername: string }): H2Client {
  let session: ClientHttp2Session | undefined;
  const open = () => {
    if (session && !session.closed && !session.destroyed) return session;
    session = connect(url, { ca: options.ca, servername: options.servername });
    session.on('error', () => undefined); // each request sees its own stream's error
    return session;
  };
  return {
    send: ({ method = 'GET', path = '/', headers = {}, body }) =>
      new Promise<Sent>((resolve, reject) => {
        const { host, ...rest } = headers as Record<string, string | string[]>;
        const stream = open().request({
          [constants.HTTP2_HEADER_METHOD]: method,
          [constants.HTTP2_HEADER_PATH]: path,
          [constants.HTTP2_HEADER_AUTHORITY]: (Array.isArray(host) ? host[0] : host) ?? options.servername,
          ...rest,
        });
        const chunks: Buffer[] = [];
        let status = 0;
        let answer: Record<string, string | string[] | undefined> = {};
        stream.on('response', (head) => {
          status = Number(head[constants.HTTP2_HEADER_STATUS]);
          answer = Object.fromEntries(Object.entries(head).filter(([name]) => !name.startsWith(':')));
        });
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const all = Buffer.concat(chunks);
          resolve({ status, headers: answer, body: all, text: all.toString('utf8') });
        });
        stream.on('error', reject);
        stream.end(body);
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (!session || session.closed) return resolve();
        session.close(() => resolve());
      }),
  };
}
