/**
 * @module HTTP/2 streams served through the pipeline without node:http2's compatibility objects.
 * Those build a Readable request and a Writable response per stream, ten listeners on it, and
 * always ask for trailers (an extra frame per response): on 1 KiB hits over h2 they cost more
 * than the pipeline itself. Here a stream gets two plain objects with only what the pipeline uses
 * of `IncomingMessage` and `ServerResponse` (src/pipeline reads nothing else), and two listeners.
 *
 * What the compatibility layer did that the pipeline relies on, done here too:
 *   - connection-specific response fields (Connection, Keep-Alive, Transfer-Encoding, Upgrade…)
 *     are dropped: HTTP/2 forbids them (RFC 9113 §8.2.2) and Node throws on them;
 *   - HEAD and bodiless statuses get HEADERS with END_STREAM, their body drained unread;
 *   - `Expect: 100-continue` gets a 100 before the request body is read, any other expectation 417;
 *   - a stream error never reaches the process as an unhandled 'error'.
 * The response head is sent with the body when the body is a buffer (one HEADERS and one DATA
 * frame, END_STREAM on the last), and at once when it streams.
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { constants, type ServerHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';

/** Response fields that are about one HTTP/1.1 connection (RFC 9113 §8.2.2): never sent over h2. */
const CONNECTION_SPECIFIC = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** What the pipeline reads of the connection: where it comes from, and that it is TLS. */
export interface PeerInfo {
  readonly encrypted: true;
  readonly remoteAddress: string | undefined;
}

/** The request side: headers (pseudo-headers included, as Node gives them), and the body stream. */
export class H2Request {
  readonly httpVersionMajor = 2;
  readonly httpVersionMinor = 0;
  readonly httpVersion = '2.0';
  readonly method: string;
  readonly url: string;

  constructor(
    readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
    readonly rawHeaders: string[],
    readonly socket: PeerInfo,
  ) {
    this.method = (headers[':method'] as string | undefined) ?? 'GET';
    this.url = (headers[':path'] as string | undefined) ?? '';
    // RFC 9113 §8.3.1: :authority stands for Host, so both protocols resolve services alike.
    const authority = headers[':authority'];
    if (headers.host === undefined && typeof authority === 'string') headers.host = authority;
  }

  /** The request body: the stream's readable side. */
  get body(): Readable {
    return this.stream;
  }

  /** The body is not wanted: read and dropped, so the client's flow-control window keeps opening. */
  resume(): this {
    this.stream.resume();
    return this;
  }
}

type CloseListener = () => void;

/** The response side: a head, then a buffer or a stream. */
export class H2Response {
  statusCode = 200;
  headersSent = false;
  /** HTTP/1.1's; an HTTP/2 stream ends on its own. */
  shouldKeepAlive = true;
  /** Fields set one by one (setHeader), names lowercased. */
  private fields: OutgoingHttpHeaders | undefined;
  /** writeHead's fields, read (not copied) when the head is sent: they win over setHeader's. */
  private given: OutgoingHttpHeaders | undefined;
  private responded = false;
  private ended = false;
  private closeListeners: CloseListener[] | undefined;
  private readonly head: boolean;

  constructor(
    readonly stream: ServerHttp2Stream,
    method: string,
    onClose: (stream: ServerHttp2Stream) => void,
  ) {
    this.head = method === 'HEAD';
    stream.once('close', () => {
      onClose(stream);
      const listeners = this.closeListeners;
      if (listeners) for (const listener of listeners) listener();
    });
  }

  get writableFinished(): boolean {
    return this.stream.writableFinished;
  }

  get destroyed(): boolean {
    return this.stream.destroyed;
  }

  /** Only 'close' is ever listened to on a response (the access log, a body being piped). */
  on(event: 'close', listener: CloseListener): this {
    if (event !== 'close') throw new Error(`an HTTP/2 response emits no "${event}" here`);
    if (this.closeListeners) this.closeListeners.push(listener);
    else this.closeListeners = [listener];
    return this;
  }

  once(event: 'close', listener: CloseListener): this {
    return this.on(event, listener);
  }

  setHeader(name: string, value: number | string | readonly string[]): this {
    if (this.headersSent) throw new Error(`cannot set "${name}": the response head was already written`);
    this.fields ??= {};
    this.fields[name.toLowerCase()] = value as OutgoingHttpHeaders[string];
    return this;
  }

  writeHead(status: number, headers?: OutgoingHttpHeaders): this {
    if (this.headersSent) throw new Error('the response head was already written');
    this.statusCode = status;
    this.headersSent = true;
    this.given = headers;
    return this;
  }

  /** RFC 8297 103 Early Hints, before the head. */
  writeEarlyHints(hints: Record<string, string | string[]>): void {
    if (this.headersSent || !this.open()) return;
    this.stream.additionalHeaders({ ...hints, ':status': 103 });
  }

  end(body?: Buffer | string): this {
    if (this.ended) return this;
    this.ended = true;
    if (!this.open()) return this;
    this.stopRequestAfter();
    if (body === undefined || body.length === 0 || !this.carriesBody()) {
      this.respond(true);
    } else {
      this.respond(false);
      this.stream.end(body);
    }
    return this;
  }

  /** The body streamed (deliver's pipeBody): the head goes at once, the body as it comes. */
  pipeFrom(body: Readable): void {
    if (!this.carriesBody()) {
      // Drained rather than destroyed (deliver.ts): an origin body read to its end is reused.
      body.resume();
      this.end();
      return;
    }
    this.ended = true;
    if (!this.open()) return void body.resume();
    this.stopRequestAfter();
    this.respond(false);
    body.pipe(this.stream);
  }

  destroy(error?: Error): this {
    this.stream.destroy(error);
    return this;
  }

  /**
   * A response complete before the request body is (refused as too large, or answered early by the
   * origin): the client is told to stop sending with RST_STREAM NO_ERROR (RFC 9113 §8.1), as
   * HTTP/1.1 closes the connection. Otherwise the stream stays half-open, the client blocked on
   * flow control, and its connection never drains.
   */
  private stopRequestAfter(): void {
    const stream = this.stream;
    if (stream.endAfterHeaders || stream.readableEnded) return;
    stream.once('finish', () => {
      if (stream.readableEnded || stream.closed) return;
      // What already arrived is read and dropped, so the stream's readable side can end and close.
      stream.resume();
      stream.close(constants.NGHTTP2_NO_ERROR);
    });
  }

  private open(): boolean {
    return !this.stream.destroyed && !this.stream.closed;
  }

  private carriesBody(): boolean {
    const status = this.statusCode;
    return !this.head && status !== 204 && status !== 304 && status >= 200;
  }

  private respond(endStream: boolean): void {
    if (this.responded) return;
    this.responded = true;
    this.headersSent = true;
    const out: OutgoingHttpHeaders = { ':status': this.statusCode };
    const fields = this.fields;
    if (fields) {
      for (const name in fields) {
        const value = fields[name];
        if (value !== undefined && !CONNECTION_SPECIFIC.has(name)) out[name] = value;
      }
    }
    const given = this.given;
    if (given) {
      for (const spelled in given) {
        const value = given[spelled];
        const name = spelled.toLowerCase();
        if (value !== undefined && !CONNECTION_SPECIFIC.has(name)) out[name] = value;
      }
    }
    this.stream.respond(out, { endStream });
  }
}

/** The pipeline's handler, as the plain listener calls it. */
export type PipelineHandler = (req: IncomingMessage, res: ServerResponse) => void;

const ignore = () => {};

/**
 * One HTTP/2 stream into the pipeline. `onClose` sees every stream end (the rapid-reset guard).
 */
export function serveStream(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  rawHeaders: string[],
  peer: PeerInfo,
  handler: PipelineHandler,
  onClose: (stream: ServerHttp2Stream) => void,
): void {
  // Errors end the stream (its 'close' follows); they are the client's, not the process's.
  stream.on('error', ignore);
  const req = new H2Request(stream, headers, rawHeaders, peer);
  const res = new H2Response(stream, req.method, onClose);
  const expect = headers.expect;
  if (expect !== undefined) {
    if (String(expect).toLowerCase() !== '100-continue') {
      res.writeHead(constants.HTTP_STATUS_EXPECTATION_FAILED, { 'content-length': '0' });
      res.end();
      return;
    }
    stream.additionalHeaders({ ':status': constants.HTTP_STATUS_CONTINUE });
  }
  handler(req as unknown as IncomingMessage, res as unknown as ServerResponse);
}

/** The readable body of a request: the message itself over HTTP/1.1, the stream over HTTP/2. */
export function requestBody(req: IncomingMessage): Readable {
  return req instanceof H2Request ? req.body : req;
}

/** A response that streams its body itself (HTTP/2), or undefined for Node's own. */
export function streamingResponse(res: ServerResponse): H2Response | undefined {
  return res instanceof H2Response ? res : undefined;
}
