/**
 * @module A process's configuration under `cachefront serve`: a forked worker takes the file's
 * text from its primary (at start and on every reload) and says when it has applied it; a single
 * process reads the file itself and reloads it on SIGHUP. Either way the admin API's reload goes
 * through `reload()`.
 */
import type { Logger } from 'pino';
import type { LiveConfig } from '../config/live-config.js';
import { restartOnlyChanges } from '../config/restart-settings.js';
import { readValidConfig } from './primary-config.js';
import {
  CONFIG_APPLIED,
  CONFIG_FILE,
  CONFIG_REQUEST,
  type ConfigFileMessage,
  messageOfType,
  RELOAD_REQUEST,
  RELOAD_RESULT,
  type ReloadResult,
} from './worker-roles.js';

/** What a worker (edge or image) runs with: its configuration, how to reload it, and a hook for when it is up. */
export interface WorkerContext {
  live: LiveConfig;
  /** Reloads the file for every process of the node (through the primary, when there is one). */
  reload: () => Promise<ReloadResult>;
  /** Called once the worker applies configuration changes (its listeners built). */
  ready: () => void;
}

/** How long a starting worker waits for its primary's configuration. */
const FIRST_CONFIG_TIMEOUT_MS = 30_000;

/** A forked worker's side of the configuration messages. */
export class PrimaryLink {
  private latest: ConfigFileMessage | undefined;
  private live: LiveConfig | undefined;
  private log: Logger | undefined;
  private firstWaiter: ((message: ConfigFileMessage) => void) | undefined;
  private nextReload = 0;
  private readonly reloads = new Map<number, (result: ReloadResult) => void>();

  constructor() {
    // One listener from the start: a reload sent while the worker starts is kept, not lost.
    process.on('message', (message: unknown) => this.onMessage(message));
  }

  /** The file's text the primary runs, asked for once. */
  first(): Promise<ConfigFileMessage> {
    if (this.latest) return Promise.resolve(this.latest);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the primary did not send the configuration')),
        FIRST_CONFIG_TIMEOUT_MS,
      );
      this.firstWaiter = (message) => {
        clearTimeout(timer);
        resolve(message);
      };
      process.send?.({ type: CONFIG_REQUEST });
    });
  }

  /**
   * From now on every file the primary sends is applied to `live` and acknowledged; one that came
   * while the worker was starting is applied at once.
   */
  follow(live: LiveConfig, startedWith: string, log: Logger): void {
    this.live = live;
    this.log = log;
    if (this.latest && this.latest.digest !== startedWith) this.apply(this.latest);
  }

  /** Asks the primary to reload the file for every worker. */
  reload(): Promise<ReloadResult> {
    const id = ++this.nextReload;
    return new Promise((resolve) => {
      this.reloads.set(id, resolve);
      process.send?.({ type: RELOAD_REQUEST, id });
    });
  }

  private onMessage(message: unknown): void {
    const file = messageOfType<ConfigFileMessage>(message, CONFIG_FILE);
    if (file) {
      this.latest = file;
      const waiter = this.firstWaiter;
      this.firstWaiter = undefined;
      if (waiter) waiter(file);
      else if (this.live) this.apply(file);
      return;
    }
    const result = messageOfType<{ type: typeof RELOAD_RESULT; id: number; result: ReloadResult }>(
      message,
      RELOAD_RESULT,
    );
    if (result) {
      this.reloads.get(result.id)?.(result.result);
      this.reloads.delete(result.id);
    }
  }

  private apply(message: ConfigFileMessage): void {
    let error: string | undefined;
    try {
      (this.live as LiveConfig).setFile(message.text);
    } catch (failure) {
      // The primary validated the same text: only an environment difference gets here.
      error = (failure as Error).message;
      this.log?.error({ err: failure, file: message.digest }, 'configuration from the primary refused');
    }
    process.send?.({ type: CONFIG_APPLIED, digest: message.digest, ...(error ? { error } : {}) });
  }
}

/** A single process's reload: the file read and validated here, applied to its one LiveConfig. */
export function reloadLocally(file: string, live: LiveConfig, log: Logger): ReloadResult {
  const read = readValidConfig(file, log);
  if (!read.ok) return read;
  const restartNeeded = restartOnlyChanges(live.current, read.config);
  try {
    live.setFile(read.text);
  } catch (error) {
    // Valid alone, refused with the catalog's services: not possible today (they give way), kept safe.
    log.error({ err: error, path: file }, 'configuration not reloaded: the running configuration stays');
    return { ok: false, code: 'CF_ERR_CONFIG_INVALID', message: (error as Error).message, issues: [] };
  }
  log.info({ path: file, file: live.version.file, restartNeeded }, 'configuration reloaded');
  return { ok: true, file: live.version.file, processes: 1, applied: 1, restartNeeded };
}
