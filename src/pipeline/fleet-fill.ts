/**
 * @module One origin fetch per cold object across the fleet. A node's first request for a cold
 * variant claims the variant's fill in Redis (a short lease). The node that wins fetches it as any
 * fill does, its own requests sharing it; every other node waits for the outcome the holder
 * announces when its fill ends: stored — its waiters read the object from the store (a collapsed
 * miss); not stored or failed — they fetch on their own at once, so nobody queues behind a
 * `no-store` answer. Once a node says it waits (a "waiting" notice, sent by the first node to lose
 * the claim) and the response head has arrived, the holder also relays the response through Redis
 * as it lands (a stream: head, chunks, end; from the first byte while the fill keeps it), and the
 * waiting nodes stream it to their clients without waiting for the store. A miss nobody else asked
 * for costs no relay call. The holder renews its short lease while its fill runs; a holder that dies
 * stops renewing it, and within a lease the waiters see it gone and fetch for themselves.
 */
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import type { StoreDecision } from '../policy/storable.js';
import type { FillCoordination, FillNotice, FlightPart } from '../store/types.js';
import { ChunkMissing, ChunkProgress, followChunks } from './chunk-reader.js';
import { FanOut } from './fan-out.js';
import {
  type Attachment,
  Fill,
  type FillDeps,
  type FillHead,
  type FillOptions,
  replayLimit,
  type Waiter,
} from './fill.js';
import { FlightSender } from './flight-sender.js';
import type { RequestView } from './recv.js';
import { mayShare } from './response-decision.js';

/** What the holder relays of its response head: what a waiting node needs to answer with it. */
interface RelayedHead {
  status: number;
  originStatus: number;
  headers: FillHead['headers'];
  entryKey: string;
  variant: FillHead['variant'];
  varyNames: string[];
  originMs: number;
}

/** A relayed response as a waiting node holds it: its head, and its body fanned out to waiters. */
interface Flight {
  head: FillHead;
  source: PassThrough;
  body: FanOut;
  /** Body bytes this node has had so far (relayed, then read from the chunks). */
  received: number;
  /** The holder's chunks, once it relays their progress instead of the bytes. */
  progress: ChunkProgress;
}

/** A fill's lease: short, renewed by its holder every LEASE_RENEW_MS while the fill runs. */
export const FILL_LEASE_MS = 3000;
const LEASE_RENEW_MS = 1000;

interface Pending {
  waiter: Waiter;
  resolve: (attachment: Attachment) => void;
}

/**
 * The holder's side once its body is stored in chunks: how many have landed, each time more do,
 * then the end (or the abort) — a few bytes per chunk through Redis instead of the chunk itself.
 */
async function relayChunks(progress: ChunkProgress, sender: FlightSender): Promise<void> {
  let told = -1;
  for (;;) {
    if (!sender.open) return;
    if (progress.written !== told && progress.id !== undefined) {
      told = progress.written;
      sender.push({ kind: 'chunks', id: progress.id, size: progress.size, written: told });
    }
    if (progress.ended !== undefined) {
      sender.push({ kind: progress.ended === 'stored' ? 'end' : 'aborted' });
      return;
    }
    await once(progress, 'change');
  }
}

export class FleetFill {
  /** This node's fetch, once it holds the claim. */
  private fill: Fill | undefined;
  /** Waiters attached before the claim was decided, or while another node's fill runs. */
  private pending: Pending[] = [];
  private waitingElsewhere = false;
  /** Another node said it waits for this fill (a "waiting" notice): the response is relayed. */
  private othersWait = false;
  /** This node holds the fill and its response head has arrived. */
  private headArrived = false;
  private relaying = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  /** The holder's relayed response, while this node streams it. */
  private flight: Flight | undefined;
  private lastRead: string | undefined;
  private reading = false;
  private readAgain = false;

  constructor(
    private readonly view: RequestView,
    private readonly guessedNames: readonly string[],
    private readonly deps: FillDeps,
    private readonly fleet: FillCoordination,
    private readonly options: FillOptions,
    private readonly coalesced: { id: string; variant: string; entryHash: string; onClosed: () => void },
  ) {}

  /** Claims the fill; the first waiter should be attached before. */
  start(): this {
    void this.fleet.claimFill(this.view.service.id, this.coalesced.entryHash, FILL_LEASE_MS).then(
      (claimed) => (claimed ? this.fetch() : this.waitElsewhere()),
      () => this.fetch(),
    );
    return this;
  }

  get answered(): boolean {
    return this.fill?.answered ?? false;
  }

  get waiting(): number {
    return this.pending.length + (this.fill?.waiting ?? 0);
  }

  attach(waiter: Waiter): Promise<Attachment> | undefined {
    if (this.closed) return undefined;
    if (this.fill) return this.fill.attach(waiter);
    if (this.flight) return Promise.resolve(this.admit(waiter, this.flight));
    return new Promise((resolve) => this.pending.push({ waiter, resolve }));
  }

  /** The holder (another node) relayed more of its response, or announced how its fill ended. */
  heard(outcome: FillNotice): void {
    // Another node waits for this fill: its holder will relay the response (even if the notice came
    // before this node's own claim answer).
    if (outcome === 'waiting') {
      this.othersWait = true;
      if (this.fill && this.headArrived) this.startRelay(this.fill);
      return;
    }
    if (!this.waitingElsewhere) return;
    if (outcome === 'flight') return void this.readFlight();
    // A relayed response ends by itself (its end is read before this outcome is announced).
    if (this.flight) return;
    let read: Promise<unknown> | undefined;
    const once = <T>(first: () => Promise<T>): Promise<T> => {
      read ??= first();
      return read as Promise<T>;
    };
    this.settle(outcome === 'stored' ? { kind: 'stored', once } : { kind: 'released' });
  }

  /** This node holds the claim: one fill, every waiter attached to it, its outcome announced. */
  private fetch(): void {
    const { entryHash } = this.coalesced;
    const service = this.view.service.id;
    this.repeat(() => void this.fleet.renewFill(service, entryHash, FILL_LEASE_MS));
    const fill = new Fill(this.view, this.guessedNames, this.deps, this.options, {
      id: this.coalesced.id,
      variant: this.coalesced.variant,
      onClosed: (outcome) => {
        this.close();
        void this.fleet.fillDone(service, entryHash, outcome);
      },
    });
    this.fill = fill;
    const pending = this.pending;
    this.pending = [];
    for (const [i, { waiter, resolve }] of pending.entries()) {
      const attached = fill.attach(waiter);
      if (!attached) {
        resolve({ kind: 'released' });
        continue;
      }
      void attached.then((attachment) => {
        resolve(attachment);
        // The head is here: relay the response to the nodes waiting for it — now, or when the first
        // says it waits (from the first byte, while the fill still keeps it).
        if (i === 0) {
          this.headArrived = true;
          if (this.othersWait) this.startRelay(fill);
        }
      });
    }
    fill.start();
  }

  private startRelay(fill: Fill): void {
    if (this.relaying) return;
    this.relaying = true;
    void this.relay(fill).catch(() => undefined);
  }

  /** Streams this node's response through Redis for the nodes that wait for it, if any. */
  private async relay(fill: Fill): Promise<void> {
    const service = this.view.service.id;
    const { entryHash } = this.coalesced;
    const attached = await fill.attach({ view: this.view, headOnly: false });
    if (attached?.kind !== 'shared') return;
    const { head, body } = attached;
    if (!head.storing || !body) return void body?.resume();
    const relayed: RelayedHead = {
      status: head.status,
      originStatus: head.originStatus,
      headers: attached.headers,
      entryKey: head.entryKey,
      variant: head.variant,
      varyNames: head.decision.ok ? head.decision.varyNames : [],
      originMs: head.originMs,
    };
    const sender = new FlightSender((parts) => this.fleet.flightAppend(service, entryHash, parts));
    sender.push({ kind: 'head', json: JSON.stringify(relayed) });
    const progress = fill.progress;
    let chunked = false;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        // Nobody waits (or Redis failed): leaving the loop lets go of the body.
        if (!sender.open) break;
        // A large body the store writer now cuts into chunks: the waiting nodes read those.
        if (progress.id !== undefined) {
          chunked = true;
          break;
        }
        sender.push({ kind: 'chunk', bytes: chunk });
        await sender.room();
      }
      if (chunked) await relayChunks(progress, sender);
      else sender.push({ kind: 'end' });
    } catch {
      sender.push({ kind: 'aborted' });
    }
    await sender.flushed();
  }

  /** Reads what the holder relayed since the last read (one read at a time, then again if told). */
  private async readFlight(): Promise<void> {
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = true;
    try {
      do {
        this.readAgain = false;
        const parts = await this.fleet.flightRead(this.view.service.id, this.coalesced.entryHash, this.lastRead);
        for (const { id, part } of parts) {
          this.lastRead = id;
          this.apply(part);
        }
      } while (this.readAgain && this.waitingElsewhere);
    } catch {
      // The next notice, the outcome or the lease's end settles it.
    } finally {
      this.reading = false;
    }
  }

  private apply(part: FlightPart): void {
    if (part.kind === 'head') {
      if (this.flight) return;
      const relayed = JSON.parse(part.json) as RelayedHead;
      const head: FillHead = {
        status: relayed.status,
        originStatus: relayed.originStatus,
        headers: relayed.headers,
        sharedHeaders: relayed.headers,
        // Only `ok` and the Vary names are read of a relayed response's decision (delivery, sharing).
        decision: { ok: true, varyNames: relayed.varyNames } as unknown as StoreDecision,
        storing: true,
        entryKey: relayed.entryKey,
        variant: relayed.variant,
        originMs: relayed.originMs,
        // Never stored here (the holder stores it): the limit only bounds what is kept for late waiters.
        maxObjectBytes: this.view.service.cache.maxObjectBytes,
        relayed: true,
      };
      const source = new PassThrough();
      const flight: Flight = {
        head,
        source,
        body: FanOut.of(source, replayLimit(this.view, this.view.service.cache.maxObjectBytes)),
        received: 0,
        progress: new ChunkProgress(),
      };
      this.flight = flight;
      const pending = this.pending;
      this.pending = [];
      for (const { waiter, resolve } of pending) resolve(this.admit(waiter, flight));
      return;
    }
    const flight = this.flight;
    if (!flight) return;
    if (part.kind === 'chunk') {
      flight.received += part.bytes.length;
      flight.source.write(part.bytes);
    } else if (part.kind === 'chunks') {
      // From here the body is read from the chunks the holder stores, from the first byte not relayed.
      const reading = flight.progress.id === undefined;
      flight.progress.chunk(part.id, part.written, part.size);
      if (reading) void this.readChunks(flight);
    } else {
      const following = flight.progress.id !== undefined;
      if (part.kind === 'end') {
        if (following) flight.progress.end('stored');
        else flight.source.end();
      } else {
        flight.progress.end('failed');
        flight.source.destroy(new Error('the holder’s response was cut short'));
      }
      this.waitingElsewhere = false;
      this.close();
    }
  }

  /**
   * The rest of a relayed body, from the holder's chunks as they land: each read from the store
   * when the one before has gone to this node's clients (backpressure), never more than one held.
   */
  private async readChunks(flight: Flight): Promise<void> {
    const { progress, source } = flight;
    const store = this.deps.chunks;
    const service = this.view.service.id;
    const primary = this.view.primary.hash;
    try {
      for (;;) {
        if (source.destroyed) return;
        const index = Math.floor(flight.received / progress.size);
        if (index < progress.written && progress.id !== undefined && store) {
          const chunk = await store.getChunk(service, primary, progress.id, index);
          if (!chunk) throw new ChunkMissing(`chunk ${index} of ${progress.id} is gone`);
          const offset = flight.received - index * progress.size;
          const piece = offset === 0 ? chunk : chunk.subarray(offset);
          if (piece.length === 0) throw new Error('a relayed body longer than its chunks');
          flight.received += piece.length;
          // Its clients all gone, the fan-out destroys the source: closed, never drained.
          if (!source.write(piece)) await Promise.race([once(source, 'drain'), once(source, 'close')]);
          continue;
        }
        if (progress.ended === 'stored') return void source.end();
        if (progress.ended === 'failed' || !store) throw new Error('the holder’s response was cut short');
        await once(progress, 'change');
      }
    } catch (error) {
      source.destroy(error as Error);
    }
  }

  /** A waiter gets the relayed response when it may share it (the same variant), else fetches alone. */
  private admit(waiter: Waiter, flight: Flight): Attachment {
    const { head } = flight;
    if (!mayShare(waiter.view, head, this.guessedNames)) return { kind: 'released' };
    const body = waiter.headOnly ? null : (flight.body.subscribe() ?? this.followChunks(flight));
    if (body === undefined) return { kind: 'released' };
    return { kind: 'shared', head, headers: head.sharedHeaders, body, collapsed: true };
  }

  /** A request joining after the kept bytes were let go follows the holder's chunks from the first. */
  private followChunks(flight: Flight): Readable | undefined {
    const { progress } = flight;
    if (progress.id === undefined || progress.ended === 'failed' || !this.deps.chunks) return undefined;
    return followChunks(this.deps.chunks, this.view.service.id, this.view.primary.hash, progress);
  }

  /**
   * Another node holds the fill: wait for its outcome, checking that its lease still stands — a
   * holder that died stops renewing it, and its waiters then fetch for themselves.
   */
  private waitElsewhere(): void {
    this.waitingElsewhere = true;
    this.repeat(async () => {
      const held = await this.fleet.fillHeld(this.view.service.id, this.coalesced.entryHash);
      if (!held) this.settle({ kind: 'released' });
    });
  }

  /** Runs `task` every LEASE_RENEW_MS until the fill closes. */
  private repeat(task: () => void | Promise<void>): void {
    this.timer = setInterval(() => void task(), LEASE_RENEW_MS);
    this.timer.unref();
  }

  private settle(attachment: Attachment): void {
    if (!this.waitingElsewhere) return;
    this.waitingElsewhere = false;
    // A relay the holder stopped midway (it died): its clients are cut off rather than left hanging.
    this.flight?.progress.end('failed');
    this.flight?.source.destroy(new Error('the fill’s holder stopped relaying'));
    this.close();
    const pending = this.pending;
    this.pending = [];
    for (const { resolve } of pending) resolve(attachment);
  }

  private close(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.closed) return;
    this.closed = true;
    this.coalesced.onClosed();
  }
}
