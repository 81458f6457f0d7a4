/**
 * Closing an edge: what is in flight finishes; a request that arrives meanwhile on a connection
 * already open gets a clear 503 (CF_ERR_SHUTTING_DOWN) and the connection is closed; close()
 * returns once the server has stopped.
 */
import { connect } from 'node:net';
import { describe, expect } from 'vitest';
import { test } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait.js';

describe('shutdown', () => {
  test('in-flight requests finish; one arriving while the edge closes gets 503 and a closed connection', async ({
    edge,
    origin,
  }) => {
    let release: (() => void) | undefined;
    origin.handle((req, res) => {
      const answer = () => {
        res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
        res.end(`answered ${req.url}`);
      };
      if (req.url === '/slow') release = answer;
      else answer();
    });
    const { hostname, port } = new URL(edge.url);
    const socket = connect(Number(port), hostname);
    let reply = '';
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
    });
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(`GET /slow HTTP/1.1\r\nHost: ${edge.host}\r\n\r\n`);
    await waitFor(() => release !== undefined, 'the slow request to reach the origin');
    const closed = edge.app.close();
    // A second request on the same keep-alive connection, after the edge began to close.
    socket.write(`GET /next HTTP/1.1\r\nHost: ${edge.host}\r\n\r\n`);
    await waitFor(() => edge.app.server.listening === false, 'the listener to stop');
    release?.();
    await ended;
    await closed;
    const responses = reply.split(/(?=HTTP\/1\.1 )/);
    expect(responses[0]).toMatch(/^HTTP\/1\.1 200 /);
    expect(responses[0]).toContain('answered /slow');
    expect(responses[1]).toMatch(/^HTTP\/1\.1 503 /);
    expect(responses[1]).toContain('CF_ERR_SHUTTING_DOWN');
    expect(responses[1]?.toLowerCase()).toContain('connection: close');
    expect(origin.requestsFor('/next')).toHaveLength(0);
    expect(edge.app.server.listening).toBe(false);
  });
});
