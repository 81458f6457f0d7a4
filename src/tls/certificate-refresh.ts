/**
 * @module Keeps a process's certificates current: every `edge.tls.checkEveryMs`, after each
 * configuration change and each new ticket key, the certificates are checked (tls/contexts.ts) and
 * the listener told when what it serves changed. One check at a time.
 */
import type { ServiceConfig } from '../config/schema.js';
import type { RefreshResult, TlsContexts } from './contexts.js';

export class CertificateRefresh {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RefreshResult> | undefined;
  private again = false;

  constructor(
    private readonly contexts: TlsContexts,
    private readonly services: () => readonly ServiceConfig[],
    private readonly onChanged: () => void,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(everyMs: number): void {
    this.timer = setInterval(() => void this.now(), everyMs);
    this.timer.unref();
  }

  /** Checks now (or right after the check under way). */
  now(): Promise<RefreshResult> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.contexts
      .refresh(this.services())
      .then((result) => {
        if (result.changed) this.onChanged();
        return result;
      })
      .catch((error: unknown) => {
        this.onError(error);
        return { changed: false, failures: [] };
      })
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          void this.now();
        }
      });
    return this.running;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
