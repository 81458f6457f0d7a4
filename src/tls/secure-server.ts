/**
 * @module The HTTPS listener: one `node:http2` secure server taking HTTP/2 (ALPN h2) and HTTP/1.1
 * (allowHTTP1) into the same request handler as the plain listener, so caching behaves the same
 * whichever the client speaks. TLS 1.2 and 1.3, the server's cipher order, session tickets with the
 * node's shared keys, the certificate chosen per SNI name (tls/contexts.ts), OCSP responses
 * stapled where the operator provides them. HTTP/2's own attacks are bounded: streams and header
 * lists by SETTINGS, malformed frames and refused streams by Node's counters, CONTINUATION floods by
 * nghttp2, and rapid reset (CVE-2023-44487) by counting the streams each client resets.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import {
  constants,
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { EdgeTlsConfig } from '../config/tls.js';
import type { TlsContexts } from './contexts.js';
import { type PeerInfo, serveStream } from './h2-exchange.js';

export interface SecureServerOptions {
  settings: EdgeTlsConfig;
  contexts: TlsContexts;
  /** Request header lines (HTTP/1.1) and header fields (HTTP/2) a request may have. */
  maxHeaderCount: number;
  /** HTTP/1.1 requests' head, bytes (as the plain listener). */
  maxHeaderBytes: number;
  /** A client that reset too many streams: its connection is closed (and logged, throttled). */
  onAbuse?: (what: string, remoteAddress: string | undefined) => void;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Counts a connection's streams the client reset, in one-second windows; past the limit, GOAWAY.
 * Called as each stream closes (h2-exchange's one 'close' listener), so a stream costs no
 * listener of its own for it.
 */
function rapidResetGuard(
  session: ServerHttp2Session,
  maxPerSecond: number,
  onAbuse: SecureServerOptions['onAbuse'],
): (stream: ServerHttp2Stream) => void {
  let windowStart = 0;
  let resets = 0;
  return (stream) => {
    // aborted: closed before the response ended — by the client's RST_STREAM, or a failure here.
    if (!stream.aborted || stream.rstCode === constants.NGHTTP2_NO_ERROR) return;
    const now = Date.now();
    if (now - windowStart >= 1000) {
      windowStart = now;
      resets = 0;
    }
    if (++resets > maxPerSecond && !session.closed && !session.destroyed) {
      onAbuse?.('rapid reset', session.socket?.remoteAddress);
      session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
      session.destroy();
    }
  };
}

/** What each connection's streams share: the peer as the pipeline reads it, and the guard. */
interface SessionState {
  peer: PeerInfo;
  closed: (stream: ServerHttp2Stream) => void;
}

export interface EdgeSecureServer {
  server: Http2SecureServer;
  /**
   * Stopping: HTTP/2 connections get GOAWAY (streams under way finish), HTTP/1.1 connections close
   * as soon as they are idle.
   */
  drain(): void;
}

export function createEdgeSecureServer(options: SecureServerOptions, handler: Handler): EdgeSecureServer {
  const { settings, contexts } = options;
  // HTTP/1.1-over-TLS connections and the requests each has under way, for drain().
  const http1 = new Map<object, number>();
  const sessions = new Set<ServerHttp2Session>();
  let draining = false;
  const fallback = contexts.fallbackPair;
  const server = createSecureServer(
    {
      allowHTTP1: true,
      ALPNProtocols: settings.http2.enabled ? ['h2', 'http/1.1'] : ['http/1.1'],
      minVersion: settings.minVersion,
      ciphers: settings.ciphers,
      honorCipherOrder: true,
      ...(contexts.currentTicketKeys ? { ticketKeys: contexts.currentTicketKeys } : {}),
      // Clients without SNI get the default certificate, if there is one; else no certificate.
      ...(fallback ? { cert: fallback.cert, key: fallback.key } : {}),
      SNICallback: (servername, done) => {
        const context = contexts.select(servername);
        if (context) done(null, context);
        else done(new Error(`no certificate for "${servername}"`), undefined);
      },
      settings: {
        maxConcurrentStreams: settings.http2.maxConcurrentStreams,
        maxHeaderListSize: settings.http2.maxHeaderListBytes,
        enablePush: false,
      },
      // Pseudo-headers count too.
      maxHeaderListPairs: options.maxHeaderCount + 4,
      // Malformed frames and streams refused past the limits end the connection.
      maxSessionInvalidFrames: 100,
      maxSessionRejectedStreams: 100,
      maxSessionMemory: 16,
      maxSettings: 32,
      // HTTP/1.1 over TLS gets the plain listener's limits.
      maxHeaderSize: options.maxHeaderBytes,
    } as Parameters<typeof createSecureServer>[0],
    // HTTP/1.1 over TLS only: HTTP/2 streams are taken below, without the compatibility objects.
    (req: Http2ServerRequest, res: Http2ServerResponse) => {
      const socket = req.socket as unknown as Socket;
      http1.set(socket, (http1.get(socket) ?? 0) + 1);
      res.once('close', () => {
        const left = (http1.get(socket) ?? 1) - 1;
        http1.set(socket, left);
        if (draining && left === 0) socket.destroy();
      });
      handler(req as unknown as IncomingMessage, res as unknown as ServerResponse);
    },
  );
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.alpnProtocol === 'h2') return;
    http1.set(socket, 0);
    socket.once('close', () => http1.delete(socket));
  });
  // A 'request' listener made node:http2 add its compatibility handler for streams: replaced.
  server.removeAllListeners('stream');
  const states = new WeakMap<ServerHttp2Session, SessionState>();
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    states.set(session, {
      peer: { encrypted: true, remoteAddress: session.socket?.remoteAddress },
      closed: rapidResetGuard(session, settings.http2.maxResetsPerSecond, options.onAbuse),
    });
  });
  server.on(
    'stream',
    (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
      const state = states.get(stream.session as ServerHttp2Session) as SessionState;
      serveStream(stream, headers, rawHeaders, state.peer, handler, state.closed);
    },
  );
  // The OCSP response the operator keeps next to the certificate, stapled to the handshake.
  server.on(
    'OCSPRequest',
    (certificate: Buffer, _issuer: Buffer, done: (error: Error | null, response?: Buffer) => void) => {
      const served = contexts.byFingerprint(createHash('sha256').update(certificate).digest('hex'));
      done(null, served?.ocsp);
    },
  );
  return {
    server,
    drain: () => {
      draining = true;
      for (const session of sessions) session.close();
      for (const [socket, inFlight] of http1) if (inFlight === 0) (socket as Socket).destroy();
    },
  };
}
