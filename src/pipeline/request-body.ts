/**
 * @module A client's request body on its way to the origin (PASS), held to edge.maxBodyBytes: a
 * declared length over it is refused before a byte is read; a chunked body is counted as it
 * streams and cut off past it.
 */
import { type Readable, Transform } from 'node:stream';

/** A client's request body over edge.maxBodyBytes (not the origin's fault). */
export class BodyLimitError extends Error {}

/** The body, counted as it streams and cut off past the limit. */
export function limitBody(body: Readable, limit: number): Readable {
  if (!Number.isFinite(limit)) return body;
  let seen = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      callback(seen > limit ? new BodyLimitError('request body over the limit') : null, chunk);
    },
  });
  body.on('error', (error) => counted.destroy(error));
  return body.pipe(counted);
}

/** The exchange failed because the client's body was over the limit. */
export function bodyWasTooLarge(error: unknown): boolean {
  return (error as { cause?: unknown } | undefined)?.cause instanceof BodyLimitError;
}
