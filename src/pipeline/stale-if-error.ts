/**
 * @module Revalidating an entry that may stand in for a failing origin (RFC 5861 §4): a connection
 * failure, a timeout, a failure status (origin.failureStatuses) or a body cut short all mean "serve
 * the stale entry". So that a body cut short can still be replaced, the new body is read to its
 * end before anything is sent — bounded by maxObjectBytes, past which it streams.
 */
import { PassThrough, Readable } from 'node:stream';
import type { CachedEntry } from '../store/types.js';
import { type Attachment, replayLimit } from './fill.js';
import type { RequestView } from './recv.js';
import { staleAnswersInstead } from './response-decision.js';

export type Settled = { kind: 'fresh'; attachment: Attachment } | { kind: 'stale'; fwdStatus?: number; detail: string };

export async function settle(
  attachment: Attachment,
  fetchAlone: () => Promise<Attachment>,
  view: RequestView,
  stale: CachedEntry,
): Promise<Settled> {
  const settled = attachment.kind === 'released' ? await fetchAlone() : attachment;
  if (settled.kind === 'failed') return { kind: 'stale', detail: settled.error.code };
  if (settled.kind !== 'shared') return { kind: 'fresh', attachment: settled };
  const { head, body } = settled;
  if (staleAnswersInstead(view, head.originStatus)) {
    body?.destroy();
    return { kind: 'stale', fwdStatus: head.originStatus, detail: 'origin-error' };
  }
  if (body === null || head.originStatus === 304) return { kind: 'fresh', attachment: settled };
  // Past the replay limit (8 MiB, never a whole large object) the rest streams: an origin failing
  // after that cuts the response rather than falling back to the stale copy.
  const read = await readAhead(body, replayLimit(view, Math.max(view.service.cache.maxObjectBytes, stale.body.length)));
  if (!read) return { kind: 'stale', fwdStatus: head.originStatus, detail: 'origin-body-error' };
  return { kind: 'fresh', attachment: { ...settled, body: read } };
}

/**
 * Reads a body to its end (then replays it), or until `limit` bytes (then replays those and
 * streams the rest). Undefined when the body fails before either.
 */
function readAhead(body: Readable, limit: number): Promise<Readable | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const done = () => {
      body.off('data', onData);
      body.off('end', onEnd);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      bytes += chunk.length;
      if (bytes <= limit) return;
      done();
      body.pause();
      const rest = new PassThrough();
      for (const c of chunks) rest.write(c);
      body.on('error', (error) => rest.destroy(error));
      body.pipe(rest);
      resolve(rest);
    };
    const onEnd = () => {
      done();
      resolve(Readable.from(chunks, { objectMode: false }));
    };
    body.on('data', onData);
    body.once('end', onEnd);
    // Stays attached: an error after the hand-over must never go unheard.
    body.on('error', () => {
      done();
      resolve(undefined);
    });
  });
}
