/**
 * @module One peer region's journals as this region's sync worker reads them: a consumer group
 * (`sync:<this region>`) on each journal stream in the peer's Redis, so the peer keeps, per region,
 * what was delivered and what was acknowledged. After a restart the worker first reads what it had
 * been given but had not acknowledged, then what is new: it resumes from its last acknowledged id.
 * It also leaves, in the peer's Redis, the receipt of each purge it applied (when, by region).
 */
import type { RedisClient } from '../redis/connect.js';
import { keySpace, shardPrefix } from '../store/keys.js';

/** One journal stream: a key space of a service in the peer's Redis. */
export interface JournalStream {
  service: string;
  space: number;
  /** The key space's prefix, `cf:{svc}:` or `cf:{svc/n}:`. */
  prefix: string;
  key: string;
  /** Where this region's field for the journal is, `<peer>/<space>`. */
  field: string;
}

export interface JournalEntry {
  id: string;
  fields: string[];
}

/** How long a receipt can be read (as the purging region's own). */
const RECEIPT_TTL_MS = 86_400_000;

export class PeerJournals {
  readonly streams: JournalStream[];
  /** Streams whose own pending entries (delivered, not acknowledged) are still to be read again. */
  private readonly pendingFirst = new Set<string>();

  constructor(
    readonly peer: string,
    readonly client: RedisClient,
    services: readonly string[],
    shards: number,
    private readonly region: string,
  ) {
    this.streams = services.flatMap((service) =>
      Array.from({ length: shards }, (_, space) => {
        const prefix = shardPrefix(service, space, shards);
        return { service, space, prefix, key: keySpace(prefix).journal, field: `${peer}/${space}` };
      }),
    );
    for (const stream of this.streams) this.pendingFirst.add(stream.key);
  }

  private get group(): string {
    return `sync:${this.region}`;
  }

  /** Creates this region's group on every stream (from the start of what the peer keeps). */
  async ensureGroups(): Promise<void> {
    await Promise.all(this.streams.map((stream) => this.ensureGroup(stream.key)));
  }

  private async ensureGroup(key: string): Promise<void> {
    try {
      await this.client.xgroup('CREATE', key, this.group, '0', 'MKSTREAM');
    } catch (error) {
      if (!String(error).includes('BUSYGROUP')) throw error;
    }
  }

  /**
   * Reads every journal from the start of what the peer keeps again (this region's Redis came back
   * empty: what it had applied is gone with it).
   */
  async rewind(): Promise<void> {
    await Promise.all(
      this.streams.map(async (stream) => {
        await this.ensureGroup(stream.key);
        await this.client.xgroup('SETID', stream.key, this.group, '0');
        this.pendingFirst.add(stream.key);
      }),
    );
  }

  /** The next entries of one stream: its own unacknowledged ones first, then new ones. */
  async read(stream: JournalStream, count: number): Promise<JournalEntry[]> {
    const pending = this.pendingFirst.has(stream.key);
    let reply: [string, [string, string[]][]][] | null;
    try {
      reply = (await this.client.xreadgroup(
        'GROUP',
        this.group,
        this.region,
        'COUNT',
        count,
        'STREAMS',
        stream.key,
        pending ? '0' : '>',
      )) as [string, [string, string[]][]][] | null;
    } catch (error) {
      // The peer's Redis came back empty (or the stream was deleted): start its group again.
      if (!String(error).includes('NOGROUP')) throw error;
      await this.ensureGroup(stream.key);
      return [];
    }
    const entries = (reply?.[0]?.[1] ?? []).map(([id, fields]) => ({ id, fields }));
    // Pending entries come back until they are acknowledged; once none is left, read new ones.
    if (pending && entries.length === 0) this.pendingFirst.delete(stream.key);
    return entries;
  }

  async ack(stream: JournalStream, id: string): Promise<void> {
    await this.client.xack(stream.key, this.group, id);
  }

  /** Leaves the receipt of a purge applied here: the region, and when. */
  async receipt(stream: JournalStream, id: string, at: number): Promise<void> {
    const key = keySpace(stream.prefix).receipt(id);
    await this.client.multi().hset(key, this.region, String(at)).pexpire(key, RECEIPT_TTL_MS).exec();
  }
}
