/**
 * @module Removals announced to every edge node over Redis pub/sub, so each drops its L1 copies at
 * once instead of serving them for up to `l1.ttlMs`. Pub/sub is fire-and-forget: a lost message
 * only means a node's copy lives out its (short) L1 lifetime. The same subscription carries the
 * outcomes of fleet-wide fills (lua/fillDone-2.lua publishes them) to the nodes waiting for them.
 */
import { Cluster } from 'ioredis';
import type { RedisClient } from '../redis/connect.js';
import { FILL_CHANNEL, PURGE_CHANNEL } from './keys.js';
import type { FillNotice } from './types.js';

export interface PurgeMessage {
  service: string;
  entries: string[];
}

export interface FillMessage {
  service: string;
  entry: string;
  /** How the fill ended, "flight" (more of its response to read), or "waiting" (a node waits for it). */
  outcome: FillNotice;
}

const OUTCOMES = new Set<string>(['stored', 'not-stored', 'failed', 'flight', 'waiting']);

export class PurgeBroadcast {
  private constructor(
    private readonly publisher: RedisClient,
    private readonly subscriber: RedisClient,
  ) {}

  /** Subscribes a dedicated connection; `onPurge` runs for every announcement, this node's included. */
  static async start(
    publisher: RedisClient,
    onPurge: (message: PurgeMessage) => void,
    onFill?: (message: FillMessage) => void,
  ): Promise<PurgeBroadcast> {
    // Its own connection, which queues the subscription until connected and resubscribes after
    // every reconnection (whatever the publisher's offline-queue setting).
    const subscriber: RedisClient =
      publisher instanceof Cluster
        ? publisher.duplicate(undefined, {
            enableOfflineQueue: true,
            lazyConnect: false,
            redisOptions: { maxRetriesPerRequest: null },
          })
        : publisher.duplicate({ enableOfflineQueue: true, lazyConnect: false, maxRetriesPerRequest: null });
    subscriber.on('error', () => undefined); // reconnects by itself; the L1 lifetime bounds the gap
    subscriber.on('message', (channel: string, text: string) => {
      try {
        if (channel === FILL_CHANNEL) {
          const message = JSON.parse(text) as FillMessage;
          if (typeof message.service === 'string' && typeof message.entry === 'string' && OUTCOMES.has(message.outcome))
            onFill?.(message);
          return;
        }
        const message = JSON.parse(text) as PurgeMessage;
        if (typeof message.service === 'string' && Array.isArray(message.entries)) onPurge(message);
      } catch {
        // not ours
      }
    });
    await subscriber.subscribe(PURGE_CHANNEL, ...(onFill ? [FILL_CHANNEL] : []));
    return new PurgeBroadcast(publisher, subscriber);
  }

  async announce(message: PurgeMessage): Promise<void> {
    if (message.entries.length === 0) return;
    await this.publisher.publish(PURGE_CHANNEL, JSON.stringify(message));
  }

  async close(): Promise<void> {
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }
}
