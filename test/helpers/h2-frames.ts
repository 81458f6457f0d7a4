/**
 * Raw HTTP/2 for the attack tests: a TLS connection (ALPN h2) on which the test writes frames byte
 * by byte — headers a well-behaved client library would refuse to send, resets, CONTINUATION
 * floods — and reads the server's frames back (their type, flags, stream and payload; header
 * blocks are not decoded: the tests look at which frames come back, and at what the origin saw).
 */
import { connect, type TLSSocket } from 'node:tls';
import { waitFor } from './wait.js';

export const FRAME = {
  DATA: 0,
  HEADERS: 1,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
export const ERROR = { NO_ERROR: 0, PROTOCOL_ERROR: 1, REFUSED_STREAM: 7, CANCEL: 8, ENHANCE_YOUR_CALM: 11 } as const;

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

/** An HPACK integer with an N-bit prefix (RFC 7541 §5.1). */
function hpackInteger(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

/** A header block of literal fields without indexing, names and values as given (no Huffman). */
export function headerBlock(fields: readonly (readonly [string, string])[]): Buffer {
  const bytes: number[] = [];
  for (const [name, value] of fields) {
    const n = Buffer.from(name, 'latin1');
    const v = Buffer.from(value, 'latin1');
    bytes.push(0x00, ...hpackInteger(n.length, 7, 0), ...n, ...hpackInteger(v.length, 7, 0), ...v);
  }
  return Buffer.from(bytes);
}

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head.writeUInt8(type, 3);
  head.writeUInt8(flags, 4);
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** The request pseudo-headers of a GET, to which a test adds its own fields. */
export function get(path: string, authority: string): [string, string][] {
  return [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', path],
    [':authority', authority],
  ];
}

export class RawH2 {
  readonly frames: Frame[] = [];
  closed = false;
  private buffer = Buffer.alloc(0);

  private constructor(private readonly socket: TLSSocket) {
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => {
      this.closed = true;
    });
  }

  static open(port: number, servername: string, ca: string): Promise<RawH2> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, servername, ca, ALPNProtocols: ['h2'] });
      socket.once('secureConnect', () => {
        if (socket.alpnProtocol !== 'h2') return reject(new Error(`ALPN chose ${socket.alpnProtocol}`));
        const raw = new RawH2(socket);
        socket.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'));
        socket.write(frame(FRAME.SETTINGS, 0, 0));
        resolve(raw);
      });
      socket.once('error', reject);
    });
  }

  write(bytes: Buffer): void {
    if (!this.closed) this.socket.write(bytes);
  }

  headers(stream: number, fields: readonly (readonly [string, string])[], flags = FLAG.END_HEADERS | FLAG.END_STREAM) {
    this.write(frame(FRAME.HEADERS, flags, stream, headerBlock(fields)));
  }

  rst(stream: number, code: number = ERROR.CANCEL) {
    const payload = Buffer.alloc(4);
    payload.writeUInt32BE(code);
    this.write(frame(FRAME.RST_STREAM, 0, stream, payload));
  }

  /** Frames of a type (on a stream, if given). */
  of(type: number, stream?: number): Frame[] {
    return this.frames.filter((f) => f.type === type && (stream === undefined || f.stream === stream));
  }

  /** The error code of the stream's RST_STREAM, or of the connection's GOAWAY. */
  static code(f: Frame): number {
    return f.type === FRAME.GOAWAY ? f.payload.readUInt32BE(4) : f.payload.readUInt32BE(0);
  }

  /** Waits until the server answered the stream (HEADERS) or reset it, or closed the connection. */
  async outcome(stream: number): Promise<'answered' | 'reset' | 'closed'> {
    return waitFor(
      () =>
        this.of(FRAME.HEADERS, stream).length > 0
          ? ('answered' as const)
          : this.of(FRAME.RST_STREAM, stream).length > 0
            ? ('reset' as const)
            : this.closed || this.of(FRAME.GOAWAY).length > 0
              ? ('closed' as const)
              : undefined,
      `the server to answer or reset stream ${stream}`,
    );
  }

  close(): void {
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= 9) {
      const length = this.buffer.readUIntBE(0, 3);
      if (this.buffer.length < 9 + length) return;
      const f: Frame = {
        type: this.buffer.readUInt8(3),
        flags: this.buffer.readUInt8(4),
        stream: this.buffer.readUInt32BE(5) & 0x7fffffff,
        payload: this.buffer.subarray(9, 9 + length),
      };
      this.buffer = this.buffer.subarray(9 + length);
      this.frames.push(f);
      if (f.type === FRAME.SETTINGS && !(f.flags & FLAG.ACK)) this.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
    }
  }
}
