/**
 * @module The configuration as `cachefront serve`'s primary holds it: the file's text its workers
 * run, given to each worker as it starts (so one forked after a reload runs what the others run,
 * even if the file has since been broken), and a reload (SIGHUP, or a worker's admin listener
 * asking) that validates the file and hands it to every worker, answering once each has applied it.
 */
import type { Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { fileDigest } from '../config/live-config.js';
import { issuesOf, readConfigFile } from '../config/load.js';
import { restartOnlyChanges } from '../config/restart-settings.js';
import type { Config } from '../config/schema.js';
import { CachefrontError } from '../errors.js';
import {
  CONFIG_APPLIED,
  CONFIG_FILE,
  CONFIG_REQUEST,
  type ConfigAppliedMessage,
  type ConfigFileMessage,
  messageOfType,
  RELOAD_REQUEST,
  RELOAD_RESULT,
  type ReloadResult,
} from './worker-roles.js';

/** A reload waits this long for every worker to say it applied the file. */
const APPLY_TIMEOUT_MS = 10_000;

/** Reads and validates the file; the refusal, logged with the file and each issue's path. */
export function readValidConfig(
  file: string,
  log: Logger,
): { ok: true; text: string; config: Config } | Extract<ReloadResult, { ok: false }> {
  try {
    return { ok: true, ...readConfigFile(file) };
  } catch (error) {
    if (!(error instanceof CachefrontError)) throw error;
    const issues = issuesOf(error);
    log.error({ path: file, code: error.code, issues }, 'configuration not reloaded: the running configuration stays');
    return { ok: false, code: error.code, message: error.message, issues };
  }
}

interface Pending {
  digest: string;
  waiting: Set<number>;
  errors: string[];
  done: () => void;
}

export class PrimaryConfig {
  private message: ConfigFileMessage;
  private queue: Promise<unknown> = Promise.resolve();
  private pending: Pending | undefined;

  constructor(
    private readonly file: string,
    text: string,
    private config: Config,
    private readonly log: Logger,
    private readonly workers: () => Worker[],
  ) {
    this.message = { type: CONFIG_FILE, text, digest: fileDigest(text) };
  }

  /** Handles a worker's configuration messages; false for any other message. */
  handle(worker: Worker, message: unknown): boolean {
    if (messageOfType(message, CONFIG_REQUEST)) {
      worker.send(this.message);
      return true;
    }
    const applied = messageOfType<ConfigAppliedMessage>(message, CONFIG_APPLIED);
    if (applied) {
      const pending = this.pending;
      if (pending && applied.digest === pending.digest) {
        if (applied.error) pending.errors.push(`worker ${worker.process.pid}: ${applied.error}`);
        pending.waiting.delete(worker.id);
        if (pending.waiting.size === 0) pending.done();
      }
      return true;
    }
    const request = messageOfType<{ type: typeof RELOAD_REQUEST; id: number }>(message, RELOAD_REQUEST);
    if (request) {
      void this.reload().then((result) => {
        if (worker.isConnected()) worker.send({ type: RELOAD_RESULT, id: request.id, result });
      });
      return true;
    }
    return false;
  }

  /** A worker gone: a reload under way stops waiting for it. */
  forget(worker: Worker): void {
    if (this.pending?.waiting.delete(worker.id) && this.pending.waiting.size === 0) this.pending.done();
  }

  /** Reloads the file: one at a time, in the order asked. */
  reload(): Promise<ReloadResult> {
    const next = this.queue.then(() => this.reloadNow());
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async reloadNow(): Promise<ReloadResult> {
    const read = readValidConfig(this.file, this.log);
    if (!read.ok) return read;
    const restartNeeded = restartOnlyChanges(this.config, read.config);
    this.config = read.config;
    this.message = { type: CONFIG_FILE, text: read.text, digest: fileDigest(read.text) };
    const targets = this.workers().filter((worker) => worker.isConnected());
    const pending: Pending = {
      digest: this.message.digest,
      waiting: new Set(targets.map((worker) => worker.id)),
      errors: [],
      done: () => undefined,
    };
    const finished = new Promise<void>((resolve) => {
      pending.done = resolve;
    });
    this.pending = pending;
    for (const worker of targets) worker.send(this.message);
    let timer: NodeJS.Timeout | undefined;
    if (targets.length > 0) {
      await Promise.race([finished, new Promise((resolve) => (timer = setTimeout(resolve, APPLY_TIMEOUT_MS)))]);
    }
    clearTimeout(timer);
    this.pending = undefined;
    const applied = targets.length - pending.waiting.size - pending.errors.length;
    const result: ReloadResult = {
      ok: true,
      file: this.message.digest,
      processes: targets.length,
      applied,
      restartNeeded,
    };
    if (pending.errors.length > 0 || pending.waiting.size > 0) {
      this.log.error(
        { path: this.file, errors: pending.errors, silent: pending.waiting.size },
        'configuration reload incomplete',
      );
    }
    this.log.info(
      { path: this.file, file: result.file, processes: result.processes, applied, restartNeeded },
      restartNeeded.length > 0
        ? 'configuration reloaded; the settings named in restartNeeded wait for a restart'
        : 'configuration reloaded',
    );
    return result;
  }
}
