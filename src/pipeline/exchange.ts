/**
 * @module What the pipeline learns about one exchange that the access log and the metrics need
 * once the response is done: the service, the key, the origin's time, the error code. Kept on the
 * response object, written where it is known, read once at the end.
 */
import type { ServerResponse } from 'node:http';

export interface ExchangeNotes {
  service?: string;
  /** Primary key hash (never the URL's query, which may carry secrets). */
  key?: string;
  path?: string;
  /** Time until the origin's response head, when the origin was asked for this response. */
  originMs?: number;
  /** The CF_ERR_* code of a synthetic error response. */
  errorCode?: string;
  /** X-Cache-Status as sent. */
  cacheStatus?: string;
  /** The pipeline's states this request passed through (edge-handler), for the debug log. */
  states?: string[];
  /** Content-Length as sent (absent for a streamed body of unknown length). */
  bytes?: number;
  /**
   * A third party's response (fetch-by-URL), served under the service's host: sandboxed, so a
   * fetched page can never run as the service's own (deliver.ts).
   */
  sandbox?: boolean;
}

const NOTES = Symbol('cachefront.exchange');

export function exchangeNotes(res: ServerResponse): ExchangeNotes {
  const holder = res as unknown as Record<symbol, ExchangeNotes | undefined>;
  let notes = holder[NOTES];
  if (!notes) {
    notes = {};
    holder[NOTES] = notes;
  }
  return notes;
}
