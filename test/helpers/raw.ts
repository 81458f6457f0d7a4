/** Sends raw bytes to a server (node:http refuses to send malformed requests) and returns the reply. */
import { connect } from 'node:net';

export function rawRequest(url: string, request: string | Buffer, timeoutMs = 3000): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    // write, not end: the server closes after answering ("Connection: close" or an error)
    const socket = connect(Number(port), hostname, () => socket.write(request));
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(reply);
    }, timeoutMs);
    socket.on('data', (d) => {
      reply += d.toString('latin1');
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(reply);
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      if (reply) resolve(reply);
      else reject(error);
    });
  });
}

/** The status code of a raw HTTP/1.1 reply ("" when there was none). */
export function statusOf(reply: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0);
}
