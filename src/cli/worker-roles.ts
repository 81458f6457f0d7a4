/**
 * @module What `cachefront serve`'s primary tells the processes it forks, and the one message it
 * passes between them. Kept tiny: the primary loads this and not the edge's modules.
 */

/** The environment variable that gives a forked process its role (absent: an edge worker). */
export const ROLE_ENV = 'CACHEFRONT_ROLE';
/** The role of the node's image worker (cli/image-worker.ts). */
export const IMAGE_ROLE = 'images';
/** Set for edge workers when their node has an image worker. */
export const REMOTE_IMAGES_ENV = 'CACHEFRONT_REMOTE_IMAGES';
/** The IPC message type of an image job, from an edge worker to the image worker. */
export const IMAGE_JOB = 'cachefront:image-job';

/** The image worker's first message: it takes jobs from now on. */
export const IMAGE_WORKER_READY = 'cachefront:image-worker-ready';
/** Jobs the primary holds while the image worker starts; past this, the originals stay. */
export const IMAGE_JOBS_WAITING = 256;

/** Is this IPC message an image job (for the primary, which only passes it on)? */
export function isImageJobMessage(message: unknown): boolean {
  return (message as { type?: unknown } | null)?.type === IMAGE_JOB;
}

export function isImageWorkerReady(message: unknown): boolean {
  return (message as { type?: unknown } | null)?.type === IMAGE_WORKER_READY;
}

/** The configuration file's text, from the primary: at a worker's start and on every reload. */
export const CONFIG_FILE = 'cachefront:config-file';
/** A starting worker asks the primary for the configuration it runs (the file may have changed since). */
export const CONFIG_REQUEST = 'cachefront:config-request';
/** A worker has applied a configuration file (or says why not). */
export const CONFIG_APPLIED = 'cachefront:config-applied';
/** A worker's admin listener asks the primary to reload the file (POST /v1/reload). */
export const RELOAD_REQUEST = 'cachefront:reload-request';
/** The primary's answer to a reload request. */
export const RELOAD_RESULT = 'cachefront:reload-result';

export interface ConfigFileMessage {
  type: typeof CONFIG_FILE;
  text: string;
  digest: string;
}

export interface ConfigAppliedMessage {
  type: typeof CONFIG_APPLIED;
  digest: string;
  error?: string;
}

export type { ReloadResult } from '../config/live-config.js';

export function messageOfType<T extends { type: string }>(message: unknown, type: T['type']): T | undefined {
  return (message as { type?: unknown } | null)?.type === type ? (message as T) : undefined;
}

/** The node's session ticket keys (hex), given to each worker at fork: resumption works on any worker. */
export const TICKET_KEYS_ENV = 'CACHEFRONT_TICKET_KEYS';
/** New session ticket keys, from the primary to every worker, every edge.tls.ticketKeyRotateMs. */
export const TICKET_KEYS = 'cachefront:ticket-keys';
